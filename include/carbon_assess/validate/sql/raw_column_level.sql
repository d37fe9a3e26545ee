-- Raw validation in DuckDB (validate/sql_engine.py): `column_level` notes (checks.add_plausibility,
-- column_median bounds of chk_bounds): per source column (file, header) of the numerator's
-- province rows (chk_provinces), the median of the ratio over the province-years that have one; a column of
-- >= column_min_provinces provinces whose median is outside the bounds is noted on every such row,
-- with the power of ten it looks off by (Python's round(): halves to even). The last bound wins.
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
        round_even(log10(columns.median / sqrt(bounds.observed_min * bounds.observed_max)), 0)
            ::bigint as power
    from columns
    join chk_bounds as bounds using (ord, ratio)
    join chk_ratio_terms as terms using (ratio)
    where columns.provinces >= getvariable('chk_column_min_provinces')
        and (columns.median < bounds.minimum or columns.median > bounds.maximum)
)
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
            || '): the values look '
            || case
                when off_columns.power = 0 then 'off'
                else 'about ' || format('{:,}', (10::hugeint ** abs(off_columns.power))::hugeint)
                    || 'x too ' || case when off_columns.power > 0 then 'large' else 'small' end
            end
            || '; is the unit in the header right?',
        off_columns.ord
    ) as note
from column_rows
join off_columns using (ord, ratio, source_file, source_column)
where column_rows.ratio_value is not null
group by column_rows.kind, column_rows.__idx
