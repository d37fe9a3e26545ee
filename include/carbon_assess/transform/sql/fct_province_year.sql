-- One row per province and year (int_geo_year, provinces only; every unit: fct_region_year).
-- materialized: view
select g.region_code as province_code, g.* exclude (region_code)
from int_geo_year as g
join dim_region as r using (region_code)
where r.region_level = 'province'
