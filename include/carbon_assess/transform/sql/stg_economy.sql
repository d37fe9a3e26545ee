-- GDP at current prices, GDP index (previous year = 100) and population, one row per
-- province-year; a column is null where the cell was blank or the year is absent.
select
    region_code,
    year,
    max(case when variable = 'gdp_current' then value end) as gdp_current_100m_yuan,
    max(case when variable = 'gdp_index_prev_year' then value end) as gdp_index_prev_year,
    max(case when variable = 'population' then value end) as population_10k
from raw_economy

group by region_code, year
