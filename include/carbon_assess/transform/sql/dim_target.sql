-- Carbon-intensity reduction targets per plan and unit: the reference table (State Council
-- annexes: provinces), with rows added or overridden by a user-supplied targets sheet (its source
-- says so; a sheet may set targets for any unit: prefectures, counties, declared units).
-- province_code: macro province_code_of; region_code and region_level at the end.
with reference_targets as (
    select plan_id, province_code as region_code, cast(target_pct as double) as target_pct,
        source
    from ref_targets
),
targets as (
    select * from stg_target_overrides
    union all
    select r.*
    from reference_targets as r
    anti join stg_target_overrides as u using (plan_id, region_code)
)
select
    t.plan_id,
    province_code_of(r.region_level, t.region_code) as province_code,
    t.target_pct,
    t.source,
    t.region_code,
    r.region_level
from targets as t
left join dim_region as r using (region_code)
order by t.plan_id, t.region_code
