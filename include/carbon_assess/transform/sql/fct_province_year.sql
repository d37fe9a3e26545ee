-- One row per province and year (int_geo_year without the national rows).
select * from int_geo_year where province_code <> '000000'
