-- Energy activity after the blank-value policy (int_energy_activity) of every unit but the
-- nation: provinces, prefectures, counties and declared units (province_code: macro
-- province_code_of; region_code and region_level at the end).
-- materialized: view
select
    province_code_of(r.region_level, a.region_code) as province_code,
    a.* exclude (region_code),
    a.region_code,
    r.region_level
from int_energy_activity as a
left join dim_region as r using (region_code)
where a.region_code <> '000000'
