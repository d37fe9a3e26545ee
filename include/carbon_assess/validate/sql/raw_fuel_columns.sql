-- Raw validation in DuckDB (validate/sql_engine.py): `column_level` notes on the other fuel
-- columns (coal has its own, raw_column_level.sql): per source column (file, header) of a fuel's
-- consumption or production over the provinces (chk_provinces), the median of value per
-- year-end resident; a column of >= chk_column_min_provinces provinces whose median is outside
-- the bounds of chk_column_bounds (reference/column_level_bounds.csv) is noted on every row, with
-- the power of ten it looks off by: a header unit off (吨 or 千吨 over 万吨 data, 万立方米 over
-- 亿立方米), which no comparison within the column can see. Not when the population column is
-- off (raw_column_level.sql names it; every per-person median moves with it).
with population as (
    select region_code, year, arg_max(value, __idx) as value
    from obs
    where kind = 'population' and variable = 'population' and value > 0 and isfinite(value)
    group by region_code, year
),
column_rows as (
    select
        obs.kind,
        obs.__idx,
        obs.variable,
        obs.fuel,
        obs.source_file,
        obs.source_column,
        obs.region_code,
        obs.year,
        obs.value / population.value as per_person
    from obs
    join chk_column_bounds as bounds
        on bounds.kind = obs.kind and bounds.variable = obs.variable and bounds.fuel = obs.fuel
    join population using (region_code, year)
    where obs.region_code in (select code from chk_provinces)
        and obs.value > 0 and isfinite(obs.value)
        and obs.source_file is not null and obs.source_column is not null
),
columns as (
    select
        kind,
        variable,
        fuel,
        source_file,
        source_column,
        count(distinct region_code) as provinces,
        median(per_person) as median,
        min(year) as first_year,
        max(year) as last_year
    from column_rows
    group by kind, variable, fuel, source_file, source_column
),
off_columns as (
    select
        columns.*,
        bounds.unit,
        bounds.minimum,
        bounds.maximum,
        bounds.observed_min,
        bounds.observed_max,
        chk_power(columns.median, bounds.observed_min, bounds.observed_max) as power
    from columns
    join chk_column_bounds as bounds using (kind, variable, fuel)
    where columns.provinces >= getvariable('chk_column_min_provinces')
        and (columns.median < bounds.minimum or columns.median > bounds.maximum)
        and not exists (select 1 from chk_column_level as whole where whole.kind = 'population')
)
select
    column_rows.kind,
    column_rows.__idx,
    'column_level' as col,
    'median ' || replace(off_columns.fuel, '_', ' ') || ' ' || off_columns.variable
        || ' per person of this column: ' || format('{:.3g}', off_columns.median) || ' '
        || off_columns.unit || ' over ' || off_columns.provinces || ' provinces, '
        || chk_span(off_columns.first_year, off_columns.last_year) || '; plausible '
        || chk_fmt(off_columns.minimum) || '-' || chk_fmt(off_columns.maximum)
        || ' (reference/column_level_bounds.csv; real NBS yearly medians '
        || chk_fmt(off_columns.observed_min) || '-' || chk_fmt(off_columns.observed_max)
        || '): the values look ' || chk_times_off(off_columns.power)
        || '; is the unit in the header right?' as note
from column_rows
join off_columns using (kind, variable, fuel, source_file, source_column)
