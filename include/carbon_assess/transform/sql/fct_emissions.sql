-- CO2 by fuel and method (int_emissions) of every unit but the nation (province_code: macro
-- province_code_of; region_code and region_level at the end).
-- materialized: view
select
    province_code_of(r.region_level, e.region_code) as province_code,
    e.* exclude (region_code),
    e.region_code,
    r.region_level
from int_emissions as e
left join dim_region as r using (region_code)
where e.region_code <> '000000'
