-- The energy cells whose value the models set, and what they set: rounding noise (stg_energy:
-- 0 > x > -negative_noise) → 0, status 'reported'; blank cells by the blank-value policy of
-- DESIGN.md §3:
--   production blank            → 0 (NBS: no production), status 'blank_is_zero'
--   consumption blank between reported years of the same unit and fuel
--                               → linear interpolation, status 'imputed'
--   other consumption blanks    → 0, status 'assumed_zero' (fuel never / no longer reported)
--   coal blank                  → stays null, status 'missing' (the unit-year is insufficient)
-- Only these decisions are stored (a few per cent of the cells); int_energy_activity lays them
-- over the other cells of stg_energy, so the 50M activity rows of county scale are never copied
-- into the compute database, and a view over it reads the same in any process (the
-- negative_noise variable is only set while the models run).
with blank_series as (
    -- the series (unit, flow, fuel) with at least one blank cell: only they need neighbours
    select distinct region_code, flow, fuel from stg_energy where quantity is null
),
neighbours as (
    -- each blank cell's nearest reported years before and after it in its series
    select
        region_code,
        flow,
        fuel,
        year,
        quantity,
        last_value(case when quantity is not null then year end ignore nulls) over before_row
            as prev_year,
        last_value(quantity ignore nulls) over before_row as prev_quantity,
        first_value(case when quantity is not null then year end ignore nulls) over after_row
            as next_year,
        first_value(quantity ignore nulls) over after_row as next_quantity
    from (
        select region_code, flow, fuel, year, quantity
        from stg_energy
        semi join blank_series using (region_code, flow, fuel)
    )
    window
        before_row as (
            partition by region_code, flow, fuel order by year
            rows between unbounded preceding and 1 preceding
        ),
        after_row as (
            partition by region_code, flow, fuel order by year
            rows between 1 following and unbounded following
        )
    qualify quantity is null
)
select region_code, year, flow, fuel, 0.0 as quantity, 'reported' as value_status,
    false as imputed, true as noise_zeroed
from stg_energy
where noise_zeroed
union all
select
    region_code,
    year,
    flow,
    fuel,
    case
        when flow = 'production' then 0.0
        when fuel = 'coal' then null
        when prev_year is not null and next_year is not null
            then prev_quantity
                + (next_quantity - prev_quantity) * (year - prev_year) / (next_year - prev_year)
        else 0.0
    end as quantity,
    case
        when flow = 'production' then 'blank_is_zero'
        when fuel = 'coal' then 'missing'
        when prev_year is not null and next_year is not null then 'imputed'
        else 'assumed_zero'
    end as value_status,
    flow = 'consumption' and fuel <> 'coal'
        and prev_year is not null and next_year is not null as imputed,
    false as noise_zeroed
from neighbours
