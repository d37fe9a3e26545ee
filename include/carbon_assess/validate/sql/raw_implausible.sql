-- Raw validation in DuckDB (validate/sql_engine.py): `implausible` notes (the plausibility checks,
-- province_year bounds of chk_bounds = reference/plausibility_bounds.csv, subprovince_year for
-- prefectures, counties and declared units): a unit-year whose
-- ratio is outside its bounds, noted at the row of the ratio's numerator (chk_ratio_terms; the
-- last such row of the province-year, placeholders included); a carbon intensity above its maximum
-- at the row of the fuel with the most CO2 that province-year, when there is one. Several findings
-- on one row are joined in the order of the bounds, then of region and year. Where one quantity
-- of the unit-year looks off against its peers (chk_culprits) and the ratio is made of it, the
-- finding is noted at that quantity's row instead, saying so.
with outside as (
    select
        bounds.ord,
        bounds.ratio,
        bounds.unit,
        bounds.minimum,
        bounds.maximum,
        bounds.observed_min,
        bounds.observed_max,
        coalesce(inputs.kind, terms.kind) as kind,
        coalesce(inputs.variable, terms.variable) as variable,
        case when inputs.name is null then terms.fuel else inputs.fuel end as fuel,
        terms.made_of,
        case when inputs.name is null then terms.suspects || ' in the wrong unit?'
            else case culprits.culprit when 'coal' then 'coal consumption' when 'gdp' then 'GDP'
                else 'population' end
                || ' looks ' || chk_times_off(culprits.power) || ' against the same year''s peers (both of its ratios to the other two '
                || 'quantities are off alike, the third ratio is not): a unit slip in this cell?'
        end as suspects,
        inputs.name is not null as attributed,
        ratios.region_code,
        ratios.year,
        ratios.value
    from chk_ratios as ratios
    join chk_bounds as bounds using (ratio)
    join chk_ratio_terms as terms using (ratio)
    -- the quantity that looks off (raw_culprits.sql), where this ratio is made of it
    left join chk_culprits as culprits
        on culprits.region_code = ratios.region_code and culprits.year = ratios.year
        and culprits.power <> 0
        and case ratios.ratio
            when 'coal_per_gdp' then culprits.culprit in ('coal', 'gdp')
            when 'coal_per_capita' then culprits.culprit in ('coal', 'population')
            when 'gdp_per_capita' then culprits.culprit in ('gdp', 'population')
            when 'carbon_intensity' then culprits.culprit = 'gdp'
            else false
        end
    left join chk_ratio_inputs as inputs on inputs.name = culprits.culprit
    where bounds.scope = case
            when ratios.region_code in (select code from chk_provinces)
                or ratios.region_code = getvariable('chk_national') then 'province_year'
            else 'subprovince_year'
        end
        and (ratios.value < bounds.minimum or ratios.value > bounds.maximum)
        and not exists (  -- a whole column off (raw_column_level.sql) explains its ratios
            select 1 from chk_column_level as whole
            where case ratios.ratio
                when 'coal_per_capita' then whole.kind in ('energy_consumption', 'population')
                when 'gdp_per_capita' then whole.kind in ('gdp', 'population')
                else whole.kind in ('energy_consumption', 'gdp')
            end
        )
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
largest as (  -- the fuel with the most CO2 (chk_co2_year; only where one has some)
    select region_code, year, largest_fuel as fuel
    from chk_co2_year
    where largest_fuel is not null
),
located as (
    select
        outside.*,
        coalesce(
            case when outside.ratio = 'carbon_intensity' and outside.value > outside.maximum
                and not outside.attributed then by_fuel.__idx end,
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
    case when ratio = 'carbon_intensity' then 'implausible_intensity' else 'implausible' end
        as col,
    string_agg(
        chk_label(region_code) || ' ' || year || ': ' || made_of || ' = '
            || format('{:.3g}', value) || ' ' || unit || ', '
            || case when value < minimum then 'below the plausible minimum'
                else 'above the plausible maximum' end
            || ' ' || chk_fmt(case when value < minimum then minimum else maximum end)
            || ' (reference/plausibility_bounds.csv ' || ratio || '; real NBS '
            || chk_fmt(observed_min) || '-' || chk_fmt(observed_max) || '): ' || suspects,
        '; ' order by ord, region_code, year
    ) as note
from located
where __idx is not null
group by kind, __idx, col
