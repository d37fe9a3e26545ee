-- CO2 from fossil-fuel combustion by fuel, for both methods of DESIGN.md §5:
--   reference:   primary fuels (coal, crude oil, natural gas) in full, secondary products
--                (coke, gasoline, kerosene, diesel, fuel oil) by net supply consumption − production;
--                other refinery products (LPG, refinery gas) are inside crude and not counted again.
--   consumption: every fuel's consumption × factor (overcounts; for comparison).
-- Electricity has no combustion factor here (electricity trade is a separate, optional term).
with activity as (
    select
        province_code,
        year,
        fuel,
        max(case when flow = 'consumption' then quantity end) as consumption,
        coalesce(max(case when flow = 'production' then quantity end), 0.0) as production,
        bool_or(flow = 'consumption' and imputed) as consumption_imputed,
        bool_or(flow = 'consumption' and value_status = 'assumed_zero') as consumption_assumed_zero,
        bool_or(flow = 'consumption') as has_consumption_row
    from int_energy_activity
    group by province_code, year, fuel
),
methods as (
    select
        unnest(['reference', 'consumption']) as method
)
select
    a.province_code,
    a.year,
    a.fuel,
    m.method,
    case
        when m.method = 'reference' and a.fuel in ('coke', 'gasoline', 'kerosene', 'diesel', 'fuel_oil')
            then 'consumption - production'
        else 'consumption'
    end as activity_basis,
    case
        when m.method = 'reference' and a.fuel in ('coke', 'gasoline', 'kerosene', 'diesel', 'fuel_oil')
            then a.consumption - a.production
        else a.consumption
    end as activity_quantity,
    f.canonical_unit as activity_unit,
    f.ef_kgco2_per_unit,
    f.factor_version,
    case
        when m.method = 'reference' and a.fuel in ('coke', 'gasoline', 'kerosene', 'diesel', 'fuel_oil')
            then (a.consumption - a.production) * f.mt_co2_per_canonical_unit
        else a.consumption * f.mt_co2_per_canonical_unit
    end as co2_mt,
    case
        when m.method = 'reference' and a.fuel in ('coke', 'gasoline', 'kerosene', 'diesel', 'fuel_oil')
            then (a.consumption - a.production) * f.energy_10k_tce_per_canonical_unit
        else a.consumption * f.energy_10k_tce_per_canonical_unit
    end as energy_10k_tce,
    a.consumption_imputed as imputed,
    a.consumption_assumed_zero as assumed_zero
from activity as a
cross join methods as m
join dim_emission_factor as f on f.fuel = a.fuel
where a.has_consumption_row
    and not (m.method = 'reference' and a.fuel in ('lpg', 'refinery_gas'))
order by a.province_code, a.year, a.fuel, m.method
