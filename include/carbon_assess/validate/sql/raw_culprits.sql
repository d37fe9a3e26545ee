-- Raw validation in DuckDB (validate/sql_engine.py): which quantity of a unit-year looks off,
-- coal, GDP or population, so that a finding names that quantity's cell and not another's.
-- Each quantity enters two of the three ratios coal per GDP (cg), coal per person (cp) and GDP
-- per person (gp) of chk_ratios. With dev = log10(ratio / median of the same year's units of
-- the same level, >= chk_level_min_provinces of them), the culprit is the quantity whose two
-- ratios are both off by at least `max` of the attribution bound, in the direction it moves
-- them, while the third ratio stays within `min`, or an order of magnitude closer than both
-- (reference/plausibility_bounds.csv attribution; a coal-heavy province's own coal per GDP is
-- off its peers for real): population (cp and gp off alike), coal (cp and cg off alike), GDP (gp and cg
-- off in opposite directions). `power` is how many powers of ten the culprit looks off.
with bound as (
    select minimum as within, maximum as off
    from chk_bounds
    where ratio = 'attribution' and scope = 'peer_log10'
),
peered as (
    select
        r.ratio,
        r.region_code,
        r.year,
        log10(r.value / median(r.value) over peers) as dev,
        count(*) over peers as peers
    from chk_ratios as r
    left join chk_peers as p on p.code = r.region_code
    where r.ratio in ('coal_per_gdp', 'coal_per_capita', 'gdp_per_capita') and r.value > 0
    window peers as (partition by r.ratio, r.year, coalesce(p.level, 'declared'))
),
devs as (
    select
        region_code,
        year,
        max(dev) filter (where ratio = 'coal_per_gdp') as cg,
        max(dev) filter (where ratio = 'coal_per_capita') as cp,
        max(dev) filter (where ratio = 'gdp_per_capita') as gp
    from peered
    where peers >= getvariable('chk_level_min_provinces')
    group by region_code, year
),
judged as (
    select
        devs.*,
        case
            when abs(cp) >= off and abs(gp) >= off and sign(cp) = sign(gp)
                and abs(cg) < greatest(within, least(abs(cp), abs(gp)) - 1) then 'population'
            when abs(cp) >= off and abs(cg) >= off and sign(cp) = sign(cg)
                and abs(gp) < greatest(within, least(abs(cp), abs(cg)) - 1) then 'coal'
            when abs(gp) >= off and abs(cg) >= off and sign(gp) <> sign(cg)
                and abs(cp) < greatest(within, least(abs(gp), abs(cg)) - 1) then 'gdp'
        end as culprit
    from devs, bound
)
select
    region_code,
    year,
    culprit,
    round(case culprit when 'population' then -(cp + gp) / 2 when 'coal' then (cp + cg) / 2
        else (gp - cg) / 2 end)::bigint as power
from judged
where culprit is not null
