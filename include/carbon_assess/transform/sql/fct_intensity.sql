-- Provincial carbon intensity, declines and schedule per plan (int_intensity, provinces only).
select * from int_intensity where province_code <> '000000'
