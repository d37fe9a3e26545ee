-- Provincial CO2 by fuel and method (int_emissions, provinces only).
select * from int_emissions where province_code <> '000000'
