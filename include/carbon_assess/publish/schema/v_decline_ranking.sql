select
    i.plan_id,
    i.year,
    rank() over (
        partition by i.plan_id, i.year order by i.cumulative_decline_pct desc
    ) as decline_rank,
    count(*) over (partition by i.plan_id, i.year) as provinces_ranked,
    i.province_code,
    p.name_en,
    p.name_zh,
    i.cumulative_decline_pct,
    i.expected_decline_pct,
    i.target_pct,
    i.completion_pct,
    i.on_schedule,
    pl.base_year as price_base_year
from {schema}.fct_intensity as i
join {schema}.dim_province as p on p.province_code = i.province_code
join {schema}.dim_plan as pl on pl.plan_id = i.plan_id
where i.cumulative_decline_pct is not null and i.years_into_plan > 0
order by i.plan_id, i.year, decline_rank, i.province_code
