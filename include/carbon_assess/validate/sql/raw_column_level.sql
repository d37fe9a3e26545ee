-- Raw validation in DuckDB (validate/sql_engine.py): `column_level` notes (the plausibility checks,
-- column_median bounds of chk_bounds): per source column (file, header) of the numerator's
-- province rows (chk_provinces), the median of the ratio over the province-years that have one; a column of
-- >= column_min_provinces provinces whose median is outside the bounds is noted on every such row,
-- with the power of ten it looks off by (rounded half to even). The last bound wins.
with column_rows as (
    select
        bounds.ord,
        bounds.ratio,
        terms.kind,
        obs.__idx,
        obs.source_file,
        obs.source_column,
        obs.region_code,
        obs.year,
        ratios.value as ratio_value
    from chk_bounds as bounds
    join chk_ratio_terms as terms using (ratio)
    join obs
        on obs.kind = terms.kind
        and obs.variable = terms.variable
        and (obs.fuel = terms.fuel or (terms.fuel is null and obs.fuel is null))
    left join chk_ratios as ratios
        on ratios.ratio = bounds.ratio
        and ratios.region_code = obs.region_code
        and ratios.year = obs.year
    where bounds.scope = 'column_median'
        and obs.region_code in (select code from chk_provinces)
        and obs.source_file is not null
        and obs.source_column is not null
),
columns as (
    select
        ord,
        ratio,
        source_file,
        source_column,
        count(distinct region_code) filter (where ratio_value is not null) as provinces,
        median(ratio_value) as median,
        min(year) filter (where ratio_value is not null) as first_year,
        max(year) filter (where ratio_value is not null) as last_year
    from column_rows
    group by ord, ratio, source_file, source_column
),
off_columns as (
    select
        columns.*,
        terms.made_of,
        bounds.unit,
        bounds.minimum,
        bounds.maximum,
        bounds.observed_min,
        bounds.observed_max,
        chk_power(columns.median, bounds.observed_min, bounds.observed_max) as power
    from columns
    join chk_bounds as bounds using (ord, ratio)
    join chk_ratio_terms as terms using (ratio)
    where columns.provinces >= getvariable('chk_column_min_provinces')
        and (columns.median < bounds.minimum or columns.median > bounds.maximum)
),
-- A coal-per-person column off by 10^k whose GDP per person (same unit-years) is off by the same
-- 10^k against its reference level (gdp_per_capita column_median_reference) is the population
-- column's finding (a population column in persons moves both alike): noted on its rows instead.
blamed as (
    select
        off_columns.ord,
        off_columns.ratio,
        off_columns.source_file,
        off_columns.source_column,
        'population' as name
    from off_columns
    join column_rows using (ord, ratio, source_file, source_column)
    join chk_ratios as per_person
        on per_person.ratio = 'gdp_per_capita'
        and per_person.region_code = column_rows.region_code
        and per_person.year = column_rows.year
    cross join chk_bounds as reference
    where off_columns.ratio = 'coal_per_capita' and column_rows.ratio_value is not null
        and reference.ratio = 'gdp_per_capita' and reference.scope = 'column_median_reference'
    group by off_columns.ord, off_columns.ratio, off_columns.source_file,
        off_columns.source_column, off_columns.power, reference.observed_min,
        reference.observed_max
    having off_columns.power <> 0
        and chk_power(median(per_person.value), reference.observed_min,
                      reference.observed_max) = off_columns.power
),
denominator_rows as (
    select
        blamed.ord,
        obs.kind,
        obs.__idx,
        inputs.name,
        off_columns.power,
        off_columns.provinces,
        off_columns.first_year,
        off_columns.last_year,
        off_columns.made_of
    from blamed
    join off_columns using (ord, ratio, source_file, source_column)
    join chk_ratio_inputs as inputs on inputs.name = blamed.name
    join obs
        on obs.kind = inputs.kind
        and obs.variable = inputs.variable
        and (obs.fuel = inputs.fuel or (inputs.fuel is null and obs.fuel is null))
    where obs.region_code in (select code from chk_provinces)
        and obs.year between off_columns.first_year and off_columns.last_year
        and obs.value > 0
)
select
    kind,
    __idx,
    'column_level' as col,
    arg_max(
        'median ' || made_of || ' of the release looks ' || chk_times_off(power) || ' over '
            || provinces || ' provinces, ' || chk_span(first_year, last_year)
            || ', and so does GDP per person while coal per GDP does not: the ' || name
            || ' column looks ' || chk_times_off(-power) || '; is the unit in its header right?',
        ord
    ) as note
from denominator_rows
group by kind, __idx
union all
select
    column_rows.kind,
    column_rows.__idx,
    'column_level' as col,
    arg_max(
        'median ' || off_columns.made_of || ' of this column: '
            || format('{:.3g}', off_columns.median) || ' ' || off_columns.unit || ' over '
            || off_columns.provinces || ' provinces, '
            || chk_span(off_columns.first_year, off_columns.last_year) || '; plausible '
            || chk_fmt(off_columns.minimum) || '-' || chk_fmt(off_columns.maximum)
            || ' (reference/plausibility_bounds.csv ' || off_columns.ratio || '; real NBS '
            || chk_fmt(off_columns.observed_min) || '-' || chk_fmt(off_columns.observed_max)
            || '): the values look ' || chk_times_off(off_columns.power)
            || '; is the unit in the header right?',
        off_columns.ord
    ) as note
from column_rows
join off_columns using (ord, ratio, source_file, source_column)
where column_rows.ratio_value is not null
    -- a per-person median off because the population column is (the blamed coal column too):
    -- that column's finding only
    and not (off_columns.ratio in ('coal_per_capita', 'gdp_per_capita')
        and exists (select 1 from blamed where blamed.name = 'population'))
group by column_rows.kind, column_rows.__idx
