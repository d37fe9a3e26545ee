-- Raw validation in DuckDB (validate/sql_engine.py): `gap`, `assumed_zero` and `coal_missing` notes
-- (blanks.energy_notes): per province and fuel, the runs of blank cells (value_status other than
-- 'reported') among the years the release covers the fuel, for provinces with any fossil-fuel
-- figure. A run is noted at its first cell (by year, then file order) with its neighbouring
-- reported cells and the fuel's share of the province's CO2 in the nearest reported year
-- (chk_share, chk_as_applied: raw_macros.sql).
with blank_series as (
    select distinct region_code, fuel
    from chk_energy_cells
    where value_status <> 'reported'
),
cells as (
    select cells.*
    from chk_energy_cells as cells
    where exists (
            select 1 from blank_series as bs
            where bs.region_code = cells.region_code and bs.fuel = cells.fuel
        )
        and exists (
            select 1 from chk_with_fuel as wf where wf.region_code = cells.region_code
        )
        and exists (
            select 1 from chk_fuel_years as fy where fy.fuel = cells.fuel and fy.year = cells.year
        )
),
ordered as (
    select
        *,
        row_number() over series as position,
        count(*) over (partition by region_code, fuel) as cell_count,
        lag(year) over series as previous_year,
        lag(value) over series as previous_value,
        lead(year) over series as next_year,
        lead(value) over series as next_value,
        sum(case when value_status = 'reported' then 1 else 0 end) over (
            series rows between unbounded preceding and current row
        ) as run
    from cells
    window series as (partition by region_code, fuel order by year, __idx)
),
runs as (
    select
        region_code,
        fuel,
        run,
        first(__idx order by position) as __idx,
        first(value_status order by position) as flag,
        min(year) as first_year,
        max(year) as last_year,
        min(position) > 1 as has_before,
        first(previous_year order by position) as before_year,
        first(previous_value order by position) as before_value,
        max(position) < any_value(cell_count) as has_after,
        first(next_year order by position desc) as after_year,
        first(next_value order by position desc) as after_value
    from ordered
    where value_status <> 'reported'
    group by region_code, fuel, run
),
placed as (
    select
        runs.*,
        chk_label(runs.region_code) || ' ' || runs.fuel as who,
        chk_span(runs.first_year, runs.last_year) as span,
        case when has_before then before_year when has_after then after_year end as nearest_year
    from runs
),
shared as (
    select
        placed.*,
        chk_share(co2.co2, totals.co2, placed.fuel, placed.nearest_year) as share
    from placed
    left join chk_co2 as co2
        on co2.region_code = placed.region_code
        and co2.year = placed.nearest_year
        and co2.fuel = placed.fuel
    left join chk_co2_year as totals
        on totals.region_code = placed.region_code and totals.year = placed.nearest_year
)
select
    'energy_consumption' as kind,
    __idx,
    case
        when flag = 'missing' then 'coal_missing'
        when flag = 'imputed' and has_before and has_after then 'gap'
        else 'assumed_zero'
    end as col,
    case
        when flag = 'missing' then who || ': blank in ' || span
            || '; coal is required, so these province-years are insufficient data downstream'
        when flag = 'imputed' and has_before and has_after then who || ': blank in ' || span
            || ' between reported ' || before_year || ' (' || chk_fmt(before_value) || ') and '
            || after_year || ' (' || chk_fmt(after_value) || '): ' || chk_as_applied('imputed')
            || '; ' || share
        else who || ': blank in ' || span || ', '
            || case
                when has_before then 'no longer reported after ' || before_year
                when has_after then 'first reported in ' || after_year
                else 'never reported'
            end
            || '; ' || chk_as_applied(flag) || '; '
            || case when nearest_year is null then 'share of emissions: none reported' else share end
    end as note
from shared
