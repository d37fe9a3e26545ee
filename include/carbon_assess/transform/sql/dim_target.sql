-- Provincial carbon-intensity reduction targets per plan: the reference table (State Council
-- annexes), with rows added or overridden by a user-supplied targets sheet (its source says so).
with reference_targets as (
    select plan_id, province_code, cast(target_pct as double) as target_pct, source
    from ref_targets
),
user_targets as (
    select
        plan as plan_id,
        province as province_code,
        target_pct,
        coalesce(nullif(source, '') || '; ', '')
            || format('user sheet {} row {}', source_file, source_row) as source
    from sheet_targets
)
select * from user_targets
union all
select r.*
from reference_targets as r
anti join user_targets as u using (plan_id, province_code)
order by plan_id, province_code
