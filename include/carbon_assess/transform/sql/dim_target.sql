-- Provincial carbon-intensity reduction targets per plan: the reference table (State Council
-- annexes), with rows added or overridden by a user-supplied targets sheet (its source says so).
with reference_targets as (
    select plan_id, province_code, cast(target_pct as double) as target_pct, source
    from ref_targets
)
select * from stg_target_overrides
union all
select r.*
from reference_targets as r
anti join stg_target_overrides as u using (plan_id, province_code)
order by plan_id, province_code
