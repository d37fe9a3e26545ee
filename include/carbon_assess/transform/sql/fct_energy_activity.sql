-- Provincial energy activity after the blank-value policy (int_energy_activity, provinces only).
select * from int_energy_activity where province_code <> '000000'
