-- One row per unit (province, prefecture, county or declared unit; the nation as 000000 from
-- national files) and year:
-- CO2 (the run's method), GDP, GDP index, population and the share of CO2 resting on
-- interpolated activity; fossil energy (10,000 tce, same basis as CO2); net electricity import
-- and, when the run enables it, its CO2 at the regional grid factor (a separate column: it does
-- not enter the intensity). A geography-year with no energy row, or with blank coal, GDP or GDP
-- index, is 'insufficient data' and its CO2 is null, never a guess. So is one whose coal
-- consumption, GDP, GDP index or population is 0, negative or not finite, or whose CO2 is not
-- finite (macro implausible; DESIGN.md §3 "Levels and zeros": validation refuses such inputs,
-- this keeps them from ever reaching a comparison). The reasons are listed in data_gaps.
-- Sums of doubles are exact_sum (macro): the same bits whatever order DuckDB's parallel
-- aggregation takes the terms in, so the same inputs publish the same rows.
with years as (
    select unnest(range(min(year), max(year) + 1)) as year
    from (select year from stg_energy union all select year from stg_economy)
),
grid as (
    -- the 31 provinces (listed even without data), every other unit with a row (prefectures,
    -- counties, declared units), and the nation (000000) when national files were supplied
    select g.region_code, y.year
    from (
        select region_code from dim_region where region_level = 'province'
        union
        select distinct region_code from stg_energy
        union
        select distinct region_code from stg_economy
    ) as g
    cross join years as y
),
co2 as (
    select
        region_code,
        year,
        count(*) as fuel_rows,
        bool_or(fuel = 'coal' and co2_mt is null) as coal_blank,
        bool_or(fuel = 'coal') as has_coal,
        exact_sum(co2_mt) as co2_mt,
        exact_sum(energy_10k_tce) as energy_10k_tce,
        exact_sum(case when imputed then abs(co2_mt) else 0 end)
            / nullif(exact_sum(abs(co2_mt)), 0)
            as imputed_share
    from int_emissions
    where method = getvariable('method')
    group by region_code, year
),
reported as (
    -- one pass over the activity rows per unit-year: fuels reported, coal, net imported
    -- electricity (consumption − generation; × the regional grid's average factor below:
    -- 亿kWh × 1e8 kWh × kgCO2/kWh / 1e9 = Mt) and the fuels taken as 0
    select
        region_code,
        year,
        count(*) filter (
            where flow = 'consumption' and fuel <> 'electricity' and value_status = 'reported'
        ) as reported_fuels,
        max(quantity) filter (where flow = 'consumption' and fuel = 'coal') as coal_quantity,
        max(quantity) filter (where flow = 'consumption' and fuel = 'electricity')
            - coalesce(max(quantity) filter (where flow = 'production' and fuel = 'electricity'),
                       0) as net_electricity_import_100m_kwh,
        string_agg(fuel, ', ' order by fuel) filter (where value_status = 'assumed_zero')
            as assumed_zero_fuels
    from int_energy_activity
    group by region_code, year
),
flagged as (
    select
        g.region_code,
        g.year,
        c.co2_mt,
        c.energy_10k_tce,
        r.net_electricity_import_100m_kwh,
        r.net_electricity_import_100m_kwh * gf.kgco2_per_kwh * 0.1 as co2_electricity_trade_mt,
        e.gdp_current_100m_yuan,
        e.gdp_index_prev_year,
        e.population_10k,
        c.imputed_share,
        r.assumed_zero_fuels,
        list_filter(
            [
                case when coalesce(r.reported_fuels, 0) = 0 then 'no fuel data' end,
                case when r.reported_fuels > 0 and (c.coal_blank or not c.has_coal)
                    then 'coal consumption blank' end,
                case when r.reported_fuels > 0 then implausible('coal consumption', r.coal_quantity)
                    end,
                case when r.reported_fuels > 0 and not isfinite(c.co2_mt) then 'CO2 not finite'
                    end
            ],
            lambda x: x is not null
        ) as energy_gaps,
        list_filter(
            [
                case when e.gdp_current_100m_yuan is null then 'GDP blank' end,
                implausible('GDP', e.gdp_current_100m_yuan),
                case when e.gdp_index_prev_year is null then 'GDP index blank' end,
                implausible('GDP index', e.gdp_index_prev_year),
                implausible('population', e.population_10k)
            ],
            lambda x: x is not null
        ) as economy_gaps
    from grid as g
    left join co2 as c using (region_code, year)
    left join stg_economy as e using (region_code, year)
    left join reported as r using (region_code, year)
    left join dim_region as dr using (region_code)  -- a unit's grid is its province's
    left join dim_province as dp on dp.province_code = dr.province_code
    left join stg_grid_emission_factors as gf on gf.grid_region = dp.grid_region
),
listed as (
    select *, list_concat(energy_gaps, economy_gaps) as gaps from flagged
)
select
    region_code,
    year,
    getvariable('method') as method,
    case when len(energy_gaps) = 0 then co2_mt end as co2_mt,
    case when len(energy_gaps) = 0 then energy_10k_tce end as energy_10k_tce,
    net_electricity_import_100m_kwh,
    case when getvariable('electricity_trade') then co2_electricity_trade_mt end
        as co2_electricity_trade_mt,
    gdp_current_100m_yuan,
    gdp_index_prev_year,
    population_10k,
    case when len(gaps) = 0 then coalesce(imputed_share, 0.0) end as imputed_share,
    assumed_zero_fuels,
    case when len(gaps) = 0 then 'complete' else 'insufficient data' end as data_status,
    nullif(array_to_string(gaps, '; '), '') as data_gaps
from listed
order by region_code, year
