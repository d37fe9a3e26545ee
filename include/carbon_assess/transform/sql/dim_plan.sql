-- Five-Year Plans with base year and national carbon-intensity target. Source: reference/plans.csv
select
    plan_id,
    plan_name_zh,
    cast(start_year as integer) as start_year,
    cast(end_year as integer) as end_year,
    cast(base_year as integer) as base_year,
    cast(nullif(national_target_pct, '') as double) as national_target_pct,
    source
from ref_plans
order by base_year
