select
    a.plan_id,
    a.province_code,
    p.name_en,
    p.name_zh,
    a.assessment_year,
    a.end_of_plan,
    a.target_pct,
    a.expected_decline_pct,
    a.cumulative_decline_pct,
    a.completion_pct,
    a.status,
    a.target_score,
    a.total_score,
    a.grade,
    a.veto,
    a.note,
    pl.base_year as price_base_year
from {schema}.fct_target_assessment as a
join (
    select plan_id, province_code,
        coalesce(max(case when status <> 'insufficient data' then assessment_year end),
                 max(assessment_year)) as assessment_year
    from {schema}.fct_target_assessment
    group by plan_id, province_code
) as latest
    on latest.plan_id = a.plan_id
    and latest.province_code = a.province_code
    and latest.assessment_year = a.assessment_year
join {schema}.dim_province as p on p.province_code = a.province_code
join {schema}.dim_plan as pl on pl.plan_id = a.plan_id
order by a.plan_id, a.province_code
