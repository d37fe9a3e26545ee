-- CO2 from fossil-fuel combustion by fuel, for every method of reference/methods.csv
-- (DESIGN.md §5); what each fuel counts under the reference method is data, the column
-- reference_basis of reference/emission_factors.csv (dim_emission_factor):
--   reference:   primary fuels (coal, crude oil, natural gas) in full; secondary products
--                (coke, gasoline, kerosene, diesel, fuel oil: net_of_production) by net supply
--                consumption − production; refinery gases (LPG, refinery gas: excluded) are
--                inside crude and not counted again.
--   consumption: every fuel's consumption × factor (overcounts; for comparison).
-- Electricity has no combustion factor here (electricity trade is a separate, optional term).
-- A view: int_geo_year reads the run's method only, and the other method is computed where it
-- is published (fct_emissions), never stored twice at county scale.
-- materialized: view
with activity as (
    -- consumption beside production of the same unit, year and fuel (one row each at most: the
    -- raw suites refuse a duplicate key); a join, not a group by over every activity row
    select
        c.region_code,
        c.year,
        c.fuel,
        c.quantity as consumption,
        coalesce(p.quantity, 0.0) as production,
        c.imputed as consumption_imputed,
        c.value_status = 'assumed_zero' as consumption_assumed_zero
    from int_energy_activity as c
    left join int_energy_activity as p
        on p.flow = 'production'
        and p.region_code = c.region_code
        and p.year = c.year
        and p.fuel = c.fuel
    where c.flow = 'consumption'
),
basis as (
    -- how each method counts each fuel: the reference method by the fuel's reference_basis,
    -- the consumption method every fuel in full
    select
        m.method,
        f.fuel,
        case when m.method = 'reference' then f.reference_basis else 'primary' end as basis
    from stg_methods as m
    cross join dim_emission_factor as f
),
counted as (
    select
        a.region_code,
        a.year,
        a.fuel,
        b.method,
        case b.basis
            when 'net_of_production' then 'consumption - production'
            else 'consumption'
        end as activity_basis,
        case b.basis
            when 'net_of_production' then a.consumption - a.production
            else a.consumption
        end as activity_quantity,
        a.consumption_imputed,
        a.consumption_assumed_zero
    from activity as a
    join basis as b on b.fuel = a.fuel
    where b.basis <> 'excluded'
)
select
    c.region_code,
    c.year,
    c.fuel,
    c.method,
    c.activity_basis,
    c.activity_quantity,
    f.canonical_unit as activity_unit,
    f.ef_kgco2_per_unit,
    f.factor_version,
    c.activity_quantity * f.mt_co2_per_canonical_unit as co2_mt,
    c.activity_quantity * f.energy_10k_tce_per_canonical_unit as energy_10k_tce,
    c.consumption_imputed as imputed,
    c.consumption_assumed_zero as assumed_zero
from counted as c
join dim_emission_factor as f on f.fuel = c.fuel
