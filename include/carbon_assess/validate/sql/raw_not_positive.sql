-- Raw validation in DuckDB (validate/sql_engine.py): zeros where a province-year cannot have one.
-- A cell of chk_positive (checks.POSITIVE_REQUIRED: GDP, GDP index,
-- population, coal consumption) that is 0 within rounding noise gets a `not_positive` note; coal 0
-- in a province-year for which no other fossil fuel is reported, of a province that does report
-- other fossil fuels in other years (checks._unreported_years: the portal's 0 for a year without
-- figures), gets a `coal_missing` note instead (raw_notes.sql keeps a blank-cell note first).
with zeros as (
    select obs.kind, obs.__idx, obs.region_code, obs.year, positive.label
    from obs
    join chk_positive as positive
        on positive.kind = obs.kind
        and positive.variable = obs.variable
        and (positive.fuel = obs.fuel or (positive.fuel is null and obs.fuel is null))
    where obs.value <= 0 and obs.value >= -getvariable('chk_negative_noise')
),
other_fuels as (
    select distinct region_code, year
    from obs
    where kind = 'energy_consumption'
        and variable = 'consumption'
        and fuel <> 'coal'
        and fuel in (select fuel from chk_fossil)
        and value > 0 and not isnan(value)
),
unreported as (
    select distinct coal.region_code, coal.year
    from obs as coal
    where coal.kind = 'energy_consumption'
        and coal.variable = 'consumption'
        and coal.fuel = 'coal'
        and coal.region_code in (select region_code from other_fuels)
        and not exists (
            select 1 from other_fuels
            where other_fuels.region_code = coal.region_code and other_fuels.year = coal.year
        )
)
select
    zeros.kind,
    zeros.__idx,
    case when unreported.region_code is null then 'not_positive' else 'coal_missing' end as col,
    case
        when unreported.region_code is null
            then chk_label(zeros.region_code) || ' ' || zeros.label || ' in ' || zeros.year
        else chk_label(zeros.region_code) || ' coal: 0 in ' || zeros.year
            || ', when no other fuel is reported for that year (the portal''s 0 for a year '
            || 'without figures); coal is required, so this province-year is insufficient data '
            || 'downstream'
    end as note
from zeros
left join unreported
    on zeros.kind = 'energy_consumption'
    and unreported.region_code = zeros.region_code
    and unreported.year = zeros.year
