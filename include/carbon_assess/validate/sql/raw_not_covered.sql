-- Raw validation in DuckDB (validate/sql_engine.py): `not_covered` notes (blanks.energy_notes):
-- the years of the release in which no province reports a fuel, as runs of consecutive years with
-- the same fuels (NBS: fuels stop in 2017), each noted at its first cell by region and fuel, with
-- the years each fuel is reported and what the models do with those cells.
with uncovered as (
    select distinct cells.fuel, cells.year
    from chk_energy_cells as cells
    where not exists (
        select 1 from chk_fuel_years as fy where fy.fuel = cells.fuel and fy.year = cells.year
    )
),
by_year as (
    select year, list(fuel order by fuel) as fuels
    from uncovered
    group by year
),
starts as (
    select
        year,
        fuels,
        case
            when lag(year) over (order by year) = year - 1
                and lag(fuels) over (order by year) = fuels then 0
            else 1
        end as starts_run
    from by_year
),
numbered as (
    select
        year,
        fuels,
        sum(starts_run) over (order by year rows between unbounded preceding and current row)
            as run
    from starts
),
runs as (
    select run, any_value(fuels) as fuels, min(year) as first_year, max(year) as last_year
    from numbered
    group by run
),
run_cells as (
    select runs.run, cells.__idx, cells.region_code, cells.year, cells.fuel, cells.value_status
    from runs
    join numbered using (run)
    join chk_energy_cells as cells
        on cells.year = numbered.year and list_contains(runs.fuels, cells.fuel)
),
firsts as (
    select
        run_cells.run,
        first(run_cells.__idx order by run_cells.region_code, run_cells.fuel, run_cells.__idx)
            as __idx
    from run_cells
    join runs using (run)
    where run_cells.year = runs.first_year
    group by run_cells.run
),
applied as (
    select distinct run_cells.run, run_cells.value_status
    from run_cells
    where run_cells.region_code in (select region_code from chk_with_fuel)
),
consequences as (
    select
        runs.run,
        coalesce(
            string_agg(consequence.text, '; ' order by consequence.ord),
            (select text from chk_consequences where status = 'assumed_zero')
        ) as consequence
    from runs
    left join applied on applied.run = runs.run
    left join chk_consequences as consequence on consequence.status = applied.value_status
    group by runs.run
),
covered as (
    select fuel, min(year) as first_year, max(year) as last_year
    from chk_fuel_years
    group by fuel
),
run_fuels as (
    select run, unnest(fuels) as fuel, len(fuels) as fuel_count
    from runs
),
spans_of as (
    select
        run_fuels.run,
        run_fuels.fuel,
        run_fuels.fuel_count,
        coalesce(chk_span(covered.first_year, covered.last_year), '') as span
    from run_fuels
    left join covered using (fuel)
),
span_groups as (
    select
        run,
        span,
        min(fuel) as first_fuel,
        string_agg(fuel, ', ' order by fuel) as fuels_text,
        count(*) as fuels_in_group,
        any_value(fuel_count) as fuel_count
    from spans_of
    group by run, span
),
spans as (
    select
        run,
        string_agg(
            case
                when span <> '' then
                    case when fuels_in_group = fuel_count then 'all' else fuels_text end
                    || ' reported ' || span
                else fuels_text || ' never reported'
            end,
            '; ' order by first_fuel
        ) as spans
    from span_groups
    group by run
)
select
    'energy_consumption' as kind,
    firsts.__idx,
    'not_covered' as col,
    array_to_string(runs.fuels, ', ') || ': blank for every province in '
        || chk_span(runs.first_year, runs.last_year) || ' (' || spans.spans || '); '
        || consequences.consequence as note
from runs
join firsts using (run)
join spans using (run)
join consequences using (run)
