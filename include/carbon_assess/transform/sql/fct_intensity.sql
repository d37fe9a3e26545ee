-- Carbon intensity, declines and schedule per plan (int_intensity) of every unit but the nation
-- (province_code: macro province_code_of; region_code and region_level at the end).
-- materialized: view
select
    i.plan_id,
    province_code_of(r.region_level, i.region_code) as province_code,
    i.* exclude (plan_id, region_code),
    i.region_code,
    r.region_level
from int_intensity as i
left join dim_region as r using (region_code)
where i.region_code <> '000000'
