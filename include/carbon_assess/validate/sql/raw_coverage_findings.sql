-- Raw validation in DuckDB (validate/sql_engine.py): coverage findings (checks._findings, _note).
-- Within a kind and series (variable, fuel): a year some provinces (chk_provinces) have and
-- another province of that series lacks. Across kinds: GDP and GDP index (chk_default_columns,
-- checks.NEEDS_ENERGY_YEARS) for every province-year with fossil-fuel consumption data (the index
-- from the second such year on: it chains from the year before): missing,
-- or blank. One row per missing or blank cell with its reasons, the first raw row of its key if
-- the cell exists (else raw_placeholders.sql adds a row), and its note: `missing_required` for a
-- plan base or final year (chk_plan_years), `missing_year` otherwise.
with known_rows as (
    select kind, region_code, year, variable, fuel
    from obs
    where region_code in (select code from chk_provinces)
),
group_years as (
    select distinct kind, variable, fuel, year from known_rows
),
group_codes as (
    select distinct kind, variable, fuel, region_code from known_rows
),
present as (
    select distinct kind, variable, fuel, region_code, year from known_rows
),
within_kind as (
    select
        codes.kind,
        codes.region_code,
        years.year,
        codes.variable,
        codes.fuel,
        1 as reason_order,
        'other provinces have ' || years.year as reason
    from group_codes as codes
    join group_years as years
        on years.kind = codes.kind
        and years.variable is not distinct from codes.variable
        and years.fuel is not distinct from codes.fuel
    where not exists (
        select 1 from present
        where present.kind = codes.kind
            and present.variable is not distinct from codes.variable
            and present.fuel is not distinct from codes.fuel
            and present.region_code = codes.region_code
            and present.year = years.year
    )
),
needed as (
    select distinct region_code, year
    from obs
    where kind = 'energy_consumption'
        and region_code in (select code from chk_provinces)
        and variable = 'consumption'
        and fuel in (select fuel from chk_fossil)
        and value is not null and not isnan(value)
),
given as (
    select obs.kind, obs.region_code, obs.year, last(obs.value order by obs.__idx) as value
    from obs
    join chk_default_columns as defaults
        on defaults.kind = obs.kind and defaults.variable = obs.variable
    group by obs.kind, obs.region_code, obs.year
),
across_kinds as (
    select
        defaults.kind,
        needed.region_code,
        needed.year,
        defaults.variable,
        null::varchar as fuel,
        2 as reason_order,
        case
            when given.kind is null then 'energy consumption data covers this year'
            else 'blank, but energy consumption data covers this year'
        end as reason
    from needed
    cross join chk_default_columns as defaults
    left join given
        on given.kind = defaults.kind
        and given.region_code = needed.region_code
        and given.year = needed.year
    where (given.kind is null or given.value is null or isnan(given.value))
        -- an index (previous year = 100) chains from the year before: not needed in a unit's
        -- first year with energy data (nothing chains from it, no plan's constant prices use it)
        and (defaults.kind <> 'gdp_index' or exists (
            select 1 from needed as before
            where before.region_code = needed.region_code and before.year = needed.year - 1
        ))
),
findings as (
    select
        kind,
        region_code,
        year,
        variable,
        fuel,
        string_agg(reason, '; ' order by reason_order) as reasons
    from (select * from within_kind union all select * from across_kinds)
    group by kind, region_code, year, variable, fuel
),
existing as (
    select findings.kind, findings.region_code, findings.year, findings.variable, findings.fuel,
        min(obs.__idx) as __idx
    from findings
    join obs
        on obs.kind = findings.kind
        and obs.region_code = findings.region_code
        and obs.year = findings.year
        and obs.variable is not distinct from findings.variable
        and obs.fuel is not distinct from findings.fuel
    group by findings.kind, findings.region_code, findings.year, findings.variable, findings.fuel
),
described as (
    select
        findings.*,
        existing.__idx as existing_idx,
        plans.role,
        chk_label(findings.region_code) || ': '
            || case when existing.__idx is null then 'no ' else 'blank ' end
            || kinds.label
            || case when findings.fuel is not null and findings.fuel <> ''
                then ' ' || findings.fuel else '' end
            || case when existing.__idx is null then ' row' else '' end
            || ' for ' || findings.year || ' (' || findings.reasons || ')' as text
    from findings
    join chk_kinds as kinds using (kind)
    left join existing
        on existing.kind = findings.kind
        and existing.region_code = findings.region_code
        and existing.year = findings.year
        and existing.variable is not distinct from findings.variable
        and existing.fuel is not distinct from findings.fuel
    left join chk_plan_years as plans on plans.year = findings.year
)
select
    kind,
    region_code,
    year,
    variable,
    fuel,
    existing_idx,
    case when role is not null then 'missing_required' else 'missing_year' end as col,
    case
        when role is not null then text || '; ' || year || ' is the ' || role
        else text || '; that province-year is insufficient data downstream'
    end as note
from described
