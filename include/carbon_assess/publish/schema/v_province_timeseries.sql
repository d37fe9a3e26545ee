select
    y.province_code,
    p.name_en,
    p.name_zh,
    y.year,
    y.co2_mt,
    y.gdp_current_100m_yuan,
    y.population_10k,
    y.co2_mt * 100 / nullif(y.gdp_current_100m_yuan, 0) as intensity_current_t_per_10k_yuan,
    y.co2_mt * 100 / nullif(y.population_10k, 0) as co2_per_capita_t,
    y.data_status
from {schema}.fct_province_year as y
join {schema}.dim_province as p on p.province_code = y.province_code
order by y.province_code, y.year
