-- Raw validation in DuckDB (validate/sql_engine.py): the plausibility ratios of each province-year
-- (checks.ratios) from the last positive finite value of each series (chk_ratio_inputs: coal
-- consumption, GDP, population) and the fuel-combustion CO2 of the SQL models (chk_co2_year,
-- consumption method), for every unit (provinces are judged by the province_year bounds, calibrated
-- on them; other units by the wider subprovince_year bounds, raw_implausible.sql)
-- and without the province-years that already have a level shift (raw_level_flagged.sql,
-- checks._shifted).
--   coal_per_gdp      coal 万吨 / GDP 亿元                      = t per 10,000 yuan
--   coal_per_capita   coal 万吨 / population 万人                = t per person
--   carbon_intensity  CO2 Mt × 100 / GDP 亿元                   = t per 10,000 yuan
--   gdp_per_capita    GDP 亿元 × 10,000 / population 万人       = yuan per person
with inputs as (
    select inputs.name, obs.region_code, obs.year, arg_max(obs.value, obs.__idx) as value
    from obs
    join chk_ratio_inputs as inputs
        on inputs.kind = obs.kind
        and inputs.variable = obs.variable
        and (inputs.fuel = obs.fuel or (inputs.fuel is null and obs.fuel is null))
    where obs.value > 0 and isfinite(obs.value)
    group by inputs.name, obs.region_code, obs.year
),
coal as (select region_code, year, value from inputs where name = 'coal'),
gdp as (select region_code, year, value from inputs where name = 'gdp'),
population as (select region_code, year, value from inputs where name = 'population'),
co2 as (select region_code, year, co2 from chk_co2_year),
ratios as (
    select 'coal_per_gdp' as ratio, coal.region_code, coal.year, coal.value / gdp.value as value
    from coal join gdp using (region_code, year)
    union all
    select 'coal_per_capita', coal.region_code, coal.year, coal.value / population.value
    from coal join population using (region_code, year)
    union all
    select 'carbon_intensity', coal.region_code, coal.year, co2.co2 * 100 / gdp.value
    from coal join gdp using (region_code, year) join co2 using (region_code, year)
    where co2.co2 > 0
    union all
    select 'gdp_per_capita', gdp.region_code, gdp.year, gdp.value * 1e4 / population.value
    from gdp join population using (region_code, year)
)
select ratio, region_code, year, value
from ratios
where not exists (
    select 1 from chk_level_flagged as shifted
    where shifted.region_code = ratios.region_code and shifted.year = ratios.year
)
