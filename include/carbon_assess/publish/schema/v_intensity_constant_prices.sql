select
    i.plan_id,
    pl.base_year as price_base_year,
    i.province_code,
    p.name_en,
    p.name_zh,
    i.year,
    i.years_into_plan,
    i.co2_mt,
    i.gdp_const_100m_yuan as gdp_const_base_year_100m_yuan,
    i.intensity_t_per_10k_yuan as intensity_const_base_year_t_per_10k_yuan,
    i.annual_decline_pct,
    i.cumulative_decline_pct,
    i.target_pct,
    coalesce(y.data_status, 'insufficient data') as data_status
from {schema}.fct_intensity as i
join {schema}.dim_province as p on p.province_code = i.province_code
join {schema}.dim_plan as pl on pl.plan_id = i.plan_id
left join {schema}.fct_province_year as y
    on y.province_code = i.province_code
    and y.year = i.year
order by i.plan_id, i.province_code, i.year
