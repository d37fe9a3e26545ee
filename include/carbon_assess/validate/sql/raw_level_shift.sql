-- Raw validation in DuckDB (validate/sql_engine.py): the level shift of checks.add_level_shift.
-- For each positive finite value of a kind with a level rule (chk_level_rules): how many times it
-- is off the median of its series (region, variable, fuel; >= level_min_series values) or of its
-- year (the non-national units of the same level, chk_peers = common.peer_levels, 'declared' for a
-- code not in reference/regions.csv, said as chk_peers_declared; year, variable, fuel; >= level_min_provinces values), counted
-- only from a usual level >= the kind's floor. Upward value / level; for the series of
-- chk_level_both (checks.LEVEL_BOTH_WAYS) also downward, level / value. The note (what the usual
-- level is) where the shift exceeds level_shift_max. pandas groups drop rows whose region or
-- variable is blank, hence the case expressions around the window medians.
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
levels as (
    select
        *,
        case when region_code is not null and variable is not null
            then median(value) over series end as s_med,
        case when region_code is not null and variable is not null
            then count(value) over series end as s_n,
        case when region_code is distinct from getvariable('chk_national') and variable is not null
            then median(value) over year_group end as y_med,
        case when region_code is distinct from getvariable('chk_national') and variable is not null
            then count(value) over year_group end as y_n
    from positive
    window
        series as (partition by kind, region_code, variable, fuel),
        year_group as (
            partition by kind, peers, year, variable, fuel,
                region_code is distinct from getvariable('chk_national')
        )
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
