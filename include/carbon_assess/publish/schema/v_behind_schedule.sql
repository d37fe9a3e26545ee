select
    a.plan_id,
    a.assessment_year,
    a.province_code,
    p.name_en,
    p.name_zh,
    a.status,
    a.target_pct,
    a.expected_decline_pct,
    a.cumulative_decline_pct,
    a.expected_decline_pct - a.cumulative_decline_pct as shortfall_pct,
    a.grade,
    a.note,
    pl.base_year as price_base_year
from {schema}.fct_target_assessment as a
join (
    select plan_id, max(assessment_year) as assessment_year
    from {schema}.fct_target_assessment
    where status <> 'insufficient data'
    group by plan_id
) as latest
    on latest.plan_id = a.plan_id
    and latest.assessment_year = a.assessment_year
join {schema}.dim_province as p on p.province_code = a.province_code
join {schema}.dim_plan as pl on pl.plan_id = a.plan_id
where a.status in ('behind', 'missed')
order by a.plan_id, a.province_code
