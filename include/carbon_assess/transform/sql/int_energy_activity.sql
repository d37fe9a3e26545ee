-- Energy activity after the blank-value policy of DESIGN.md §3:
--   production blank            → 0 (NBS: no production), status 'blank_is_zero'
--   consumption blank between reported years of the same province and fuel
--                               → linear interpolation, status 'imputed'
--   other consumption blanks    → 0, status 'assumed_zero' (fuel never / no longer reported)
--   coal blank                  → stays null, status 'missing' (the province-year is insufficient)
-- Without the lineage columns: at county scale this table has 50M rows, and the lineage (file,
-- sha256, row, column, cell text) is read back from stg_energy only where it is published
-- (fct_energy_activity).
with blank_series as (
    -- the series (unit, flow, fuel) with at least one blank cell: only they need neighbours
    select distinct region_code, flow, fuel from stg_energy where quantity is null
),
neighbours as (
    -- each blank cell's nearest reported years before and after it in its series, computed on
    -- the key and the value alone (the lineage columns stay out of the sort)
    select
        region_code,
        flow,
        fuel,
        year,
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
),
cells as (
    select e.*, n.prev_year, n.prev_quantity, n.next_year, n.next_quantity
    from stg_energy as e
    left join neighbours as n using (region_code, flow, fuel, year)
)
select
    region_code,
    year,
    flow,
    fuel,
    case
        when quantity is not null then quantity
        when flow = 'production' then 0.0
        when fuel = 'coal' then null
        when prev_year is not null and next_year is not null
            then prev_quantity
                + (next_quantity - prev_quantity) * (year - prev_year) / (next_year - prev_year)
        else 0.0
    end as quantity,
    unit,
    case
        when quantity is not null then 'reported'
        when flow = 'production' then 'blank_is_zero'
        when fuel = 'coal' then 'missing'
        when prev_year is not null and next_year is not null then 'imputed'
        else 'assumed_zero'
    end as value_status,
    quantity is null and flow = 'consumption' and fuel <> 'coal'
        and prev_year is not null and next_year is not null as imputed,
    noise_zeroed
from cells
