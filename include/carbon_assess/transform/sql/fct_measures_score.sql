-- The assessors' points for the tasks-and-measures part, one row per sub-indicator
-- (int_measures_score; province_code: macro province_code_of; region_code and region_level at
-- the end).
select
    m.plan_id,
    province_code_of(r.region_level, m.region_code) as province_code,
    m.* exclude (plan_id, region_code),
    m.region_code,
    r.region_level
from int_measures_score as m
left join dim_region as r using (region_code)
