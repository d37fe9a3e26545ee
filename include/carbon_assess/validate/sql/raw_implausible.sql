-- Raw validation in DuckDB (validate/sql_engine.py): `implausible` notes (checks.add_plausibility,
-- province_year bounds of chk_bounds = reference/plausibility_bounds.csv): a province-year whose
-- ratio is outside its bounds, noted at the row of the ratio's numerator (chk_ratio_terms; the
-- last such row of the province-year, placeholders included); a carbon intensity above its maximum
-- at the row of the fuel with the most CO2 that province-year, when there is one. Several findings
-- on one row are joined in the order of the bounds, then of region and year.
with outside as (
    select
        bounds.ord,
        bounds.ratio,
        bounds.unit,
        bounds.minimum,
        bounds.maximum,
        bounds.observed_min,
        bounds.observed_max,
        terms.kind,
        terms.variable,
        terms.fuel,
        terms.made_of,
        terms.suspects,
        ratios.region_code,
        ratios.year,
        ratios.value
    from chk_ratios as ratios
    join chk_bounds as bounds using (ratio)
    join chk_ratio_terms as terms using (ratio)
    where bounds.scope = 'province_year'
        and (ratios.value < bounds.minimum or ratios.value > bounds.maximum)
),
candidates as (
    select kind, variable, fuel, region_code, year, __idx from obs
    union all
    select kind, variable, fuel, region_code, year, __idx from chk_placeholders
),
row_index as (
    select candidates.kind, candidates.variable, candidates.fuel, candidates.region_code,
        candidates.year, max(candidates.__idx) as __idx
    from candidates
    where exists (
        select 1 from outside
        where outside.kind = candidates.kind
            and outside.variable = candidates.variable
            and outside.region_code = candidates.region_code
            and outside.year = candidates.year
    )
    group by all
),
largest as (
    select region_code, year, arg_max(fuel, co2) as fuel
    from chk_co2
    where co2 > 0
    group by region_code, year
),
located as (
    select
        outside.*,
        coalesce(
            case when outside.ratio = 'carbon_intensity' and outside.value > outside.maximum
                then by_fuel.__idx end,
            own.__idx
        ) as __idx
    from outside
    left join row_index as own
        on own.kind = outside.kind
        and own.variable = outside.variable
        and (own.fuel = outside.fuel or (outside.fuel is null and own.fuel is null))
        and own.region_code = outside.region_code
        and own.year = outside.year
    left join largest
        on largest.region_code = outside.region_code and largest.year = outside.year
    left join row_index as by_fuel
        on by_fuel.kind = outside.kind
        and by_fuel.variable = outside.variable
        and by_fuel.fuel = largest.fuel
        and by_fuel.region_code = outside.region_code
        and by_fuel.year = outside.year
)
select
    kind,
    __idx,
    'implausible' as col,
    string_agg(
        chk_label(region_code) || ' ' || year || ': ' || made_of || ' = '
            || format('{:.3g}', value) || ' ' || unit || ', '
            || case when value < minimum then 'below the plausible minimum'
                else 'above the plausible maximum' end
            || ' ' || chk_fmt(case when value < minimum then minimum else maximum end)
            || ' (reference/plausibility_bounds.csv ' || ratio || '; real NBS '
            || chk_fmt(observed_min) || '-' || chk_fmt(observed_max) || '): ' || suspects
            || ' in the wrong unit?',
        '; ' order by ord, region_code, year
    ) as note
from located
where __idx is not null
group by kind, __idx
