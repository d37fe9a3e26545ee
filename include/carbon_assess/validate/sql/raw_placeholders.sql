-- Raw validation in DuckDB (validate/sql_engine.py): placeholder rows for coverage findings whose
-- cell does not exist : value blank, no source row, the header, unit and files
-- of the series (the province's own rows if any, else every province's; the most frequent header
-- and unit, ties to the smallest), or the kind's default header (chk_default_columns). They follow
-- the raw rows of their kind (row index = raw row count + rank by region, year, variable, fuel),
-- so offenders come in a stable order, after the raw rows.
with wanted as (
    select * from chk_coverage_findings where existing_idx is null
),
series as (
    select distinct wanted.kind, wanted.variable, wanted.fuel from wanted
),
series_rows as (
    select
        series.kind,
        series.variable,
        series.fuel,
        obs.region_code,
        obs.source_column,
        obs.unit,
        obs.source_file
    from series
    join obs
        on obs.kind = series.kind
        and obs.variable = series.variable
        and (
            (series.fuel is not null and series.fuel <> '' and obs.fuel = series.fuel)
            or ((series.fuel is null or series.fuel = '') and obs.fuel is null)
        )
),
own_header as (
    select kind, variable, fuel, region_code,
        first(source_column order by n desc, source_column) as header
    from (
        select kind, variable, fuel, region_code, source_column, count(*) as n
        from series_rows where source_column is not null
        group by all
    )
    group by kind, variable, fuel, region_code
),
own_unit as (
    select kind, variable, fuel, region_code, first(unit order by n desc, unit) as unit
    from (
        select kind, variable, fuel, region_code, unit, count(*) as n
        from series_rows where unit is not null
        group by all
    )
    group by kind, variable, fuel, region_code
),
own_files as (
    select kind, variable, fuel, region_code,
        array_to_string(list_sort(list(distinct source_file)), ', ') as files,
        count(*) as n
    from series_rows
    group by kind, variable, fuel, region_code
),
all_header as (
    select kind, variable, fuel, first(source_column order by n desc, source_column) as header
    from (
        select kind, variable, fuel, source_column, count(*) as n
        from series_rows where source_column is not null
        group by all
    )
    group by kind, variable, fuel
),
all_unit as (
    select kind, variable, fuel, first(unit order by n desc, unit) as unit
    from (
        select kind, variable, fuel, unit, count(*) as n
        from series_rows where unit is not null
        group by all
    )
    group by kind, variable, fuel
),
all_files as (
    select kind, variable, fuel,
        array_to_string(list_sort(list(distinct source_file)), ', ') as files,
        count(*) as n
    from series_rows
    group by kind, variable, fuel
),
picked as (
    select
        wanted.*,
        case when own_files.n is not null then split_part(own_header.header, ' / ', 1)
            when all_files.n is not null then split_part(all_header.header, ' / ', 1)
        end as series_header,
        case when own_files.n is not null then own_unit.unit
            when all_files.n is not null then all_unit.unit
        end as series_unit,
        coalesce(own_files.files, all_files.files) as series_files,
        coalesce(own_files.n, all_files.n) is not null as has_series
    from wanted
    left join own_files
        on own_files.kind = wanted.kind and own_files.variable = wanted.variable
        and own_files.fuel is not distinct from wanted.fuel
        and own_files.region_code = wanted.region_code
    left join own_header
        on own_header.kind = wanted.kind and own_header.variable = wanted.variable
        and own_header.fuel is not distinct from wanted.fuel
        and own_header.region_code = wanted.region_code
    left join own_unit
        on own_unit.kind = wanted.kind and own_unit.variable = wanted.variable
        and own_unit.fuel is not distinct from wanted.fuel
        and own_unit.region_code = wanted.region_code
    left join all_files
        on all_files.kind = wanted.kind and all_files.variable = wanted.variable
        and all_files.fuel is not distinct from wanted.fuel
    left join all_header
        on all_header.kind = wanted.kind and all_header.variable = wanted.variable
        and all_header.fuel is not distinct from wanted.fuel
    left join all_unit
        on all_unit.kind = wanted.kind and all_unit.variable = wanted.variable
        and all_unit.fuel is not distinct from wanted.fuel
),
filled as (
    select
        picked.*,
        case when has_series then series_header else defaults.header end as header,
        case when has_series then series_unit else defaults.unit end as placeholder_unit,
        coalesce(series_files, '(no ' || kinds.label || ' file in the landing folder)') as files,
        kinds.rows as raw_rows
    from picked
    join chk_kinds as kinds using (kind)
    left join chk_default_columns as defaults using (kind)
)
select
    kind,
    raw_rows + row_number() over (
        partition by kind order by region_code, year, variable, coalesce(fuel, '')
    ) - 1 as __idx,
    region_code,
    year,
    variable,
    fuel,
    'nan'::double as value,
    placeholder_unit as unit,
    null::varchar as source_value,
    placeholder_unit as source_unit,
    files as source_file,
    '' as source_sha256,
    null::varchar as source_sheet,
    null::integer as source_row,
    coalesce(header, variable) as source_column,
    getvariable('chk_run_id')::varchar as run_id,
    null::varchar as vintage,
    col,
    note
from filled
