-- Raw validation in DuckDB (validate/sql_engine.py): the level shift of each value.
-- For each positive finite value of a kind with a level rule (chk_level_rules): how many times it
-- is off the median of its series (region, variable, fuel; >= level_min_series values) or of its
-- year (year, variable, fuel over the non-national units of the same GB/T 2260 level: chk_peers
-- = common.peer_levels; a declared unit, not in reference/regions.csv, has no peers, as a park
-- is not a typical park; >= level_min_provinces values), counted only from a usual level >= the
-- kind's floor. Upward value / level; for the series of chk_level_both (checks.LEVEL_BOTH_WAYS)
-- also downward, level / value. The note (what the usual level is) where the shift exceeds
-- level_shift_max. A row whose region or variable is blank has no series or year median (the
-- joins to the medians leave it out).
with positive as (
    select
        obs.kind,
        obs.__idx,
        obs.region_code,
        obs.variable,
        coalesce(obs.fuel, '') as fuel,
        obs.year,
        obs.value,
        obs.unit,
        rules.floor,
        both_ways.kind is not null as both_ways,
        coalesce(peers.level, 'declared') as peers,
        coalesce(peers.plural, getvariable('chk_peers_declared')) as peer_plural
    from obs
    join chk_level_rules as rules using (kind)
    left join chk_peers as peers on peers.code = obs.region_code
    left join chk_level_both as both_ways
        on both_ways.kind = obs.kind
        and both_ways.variable = obs.variable
        and both_ways.fuel = coalesce(obs.fuel, '')
    where obs.value > 0 and isfinite(obs.value)
),
series_levels as (
    select kind, region_code, variable, fuel, median(value) as s_med, count(value) as s_n
    from positive
    where region_code is not null and variable is not null
    group by kind, region_code, variable, fuel
),
year_levels as (
    select kind, peers, year, variable, fuel, median(value) as y_med, count(value) as y_n
    from positive
    where region_code is distinct from getvariable('chk_national') and variable is not null
        and peers <> 'declared'  -- declared units (parks, zones) differ by nature: series only
    group by kind, peers, year, variable, fuel
),
levels as (
    select positive.*, series.s_med, series.s_n, years.y_med, years.y_n
    from positive
    left join series_levels as series
        on series.kind = positive.kind
        and series.region_code = positive.region_code
        and series.variable = positive.variable
        and series.fuel = positive.fuel
    left join year_levels as years
        on years.kind = positive.kind
        and years.peers = positive.peers
        and years.year = positive.year
        and years.variable = positive.variable
        and years.fuel = positive.fuel
        and positive.region_code is distinct from getvariable('chk_national')
),
ratios as (
    select
        *,
        case when s_med >= floor and s_n >= getvariable('chk_level_min_series')
            then value / s_med end as s_ratio,
        case when y_med >= floor and y_n >= getvariable('chk_level_min_provinces')
            then value / y_med end as y_ratio
    from levels
),
folded as (
    select
        *,
        case when not both_ways or s_ratio >= 1 then s_ratio else 1 / s_ratio end as s_fold,
        case when not both_ways or y_ratio >= 1 then y_ratio else 1 / y_ratio end as y_fold
    from ratios
),
shifts as (
    select
        *,
        case
            when s_fold is null then y_fold
            when y_fold is null then s_fold
            else greatest(s_fold, y_fold)
        end as level_shift,
        y_fold is null or s_fold >= y_fold as by_series
    from folded
)
select
    kind,
    __idx,
    region_code,
    year,
    level_shift,
    case when level_shift > getvariable('chk_level_shift_max') then
        case
            when (case when by_series then s_ratio else y_ratio end) >= 1
                then chk_times(case when by_series then s_ratio else y_ratio end) || 'x '
            else '1/' || chk_times(1 / case when by_series then s_ratio else y_ratio end) || ' of '
        end
        || case
            when by_series then 'the median ' || chk_fmt(s_med) || ' ' || coalesce(unit, 'nan')
                || ' of this province''s series (' || s_n || ' years)'
            else 'the median ' || chk_fmt(y_med) || ' ' || coalesce(unit, 'nan') || ' of '
                || y_n || ' ' || peer_plural || ' in ' || year
        end
        || case
            when (case when by_series then s_ratio else y_ratio end) >= 1
                then ': unit mix-up? (吨 entered as 万吨 is 10,000x)'
            else ': unit mix-up? (亿吨 entered as 万吨 is 1/10,000)'
        end
    end as level_shift_note
from shifts
