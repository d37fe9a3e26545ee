-- Provincial carbon-intensity reduction targets per plan. Source: reference/targets.csv
select
    plan_id,
    province_code,
    cast(target_pct as double) as target_pct,
    source
from ref_targets
order by plan_id, province_code
