-- Raw validation in DuckDB (validate/sql_engine.py): consistency of series with each other and
-- with themselves (DESIGN §3 "Consistency across series"); bounds in chk_bounds
-- (reference/plausibility_bounds.csv). One row per finding: (kind, __idx, col, note).
--   excursion (error): a cell 10^k times (k a non-zero integer, within the `excursion` tolerance
--     in log10) both its neighbours in its own series (same unit, variable, fuel; consecutive
--     years; both neighbours at least the kind's level floor, chk_level_rules): a typo or a
--     unit slip, noted at that cell (unless a level shift already names it). Downward only for
--     the series where near zero is implausible (chk_level_both: coal, GDP, population), as
--     for level shifts: other fuels do dip to near zero for real.
--   excursion_minor (warning): the same shape where the error does not apply (a dip of another
--     fuel, or neighbours below the level floor): the verdicts on the cell become provisional.
--   implied_deflator (warning): d(t) = (GDP(t) / GDP(t-1)) / (index(t) / 100) - 1 outside the
--     unit_year band, or beyond both peer bounds (deviation from the median d of the same year
--     over units of the same level, and that deviation in MADs; >= chk_level_min_provinces
--     peers), noted at the index cell of year t. When such an index is within the cumulative_fit
--     tolerance of the unit's earlier indices chained from a base 2-10 years back times this
--     year's nominal growth over the year's median deflator, the note says it looks cumulative;
--     such an index is flagged inside the band too when its deflator lies cumulative_deviation
--     or more below the year's median.
with bounds as (
    select
        max(maximum) filter (where ratio = 'excursion' and scope = 'series') as excursion_tol,
        max(minimum) filter (where ratio = 'implied_deflator' and scope = 'unit_year') as band_min,
        max(maximum) filter (where ratio = 'implied_deflator' and scope = 'unit_year') as band_max,
        max(minimum) filter (where ratio = 'implied_deflator' and scope = 'year_peers_deviation')
            as dev_min,
        max(maximum) filter (where ratio = 'implied_deflator' and scope = 'year_peers_deviation')
            as dev_max,
        max(minimum) filter (where ratio = 'implied_deflator' and scope = 'year_peers_mad')
            as mad_min,
        max(maximum) filter (where ratio = 'implied_deflator' and scope = 'year_peers_mad')
            as mad_max,
        max(maximum) filter (where ratio = 'index_basis' and scope = 'cumulative_fit') as fit_tol,
        max(minimum) filter (where ratio = 'implied_deflator' and scope = 'cumulative_deviation')
            as cum_dev
    from chk_bounds
),
series as (  -- the window sorts every row it carries: the fewest columns, one integer key
    select
        ids.series_id,
        obs.__idx,
        obs.year,
        obs.value,
        lag(obs.value) over w as prev_value,
        lag(obs.year) over w as prev_year,
        lead(obs.value) over w as next_value,
        lead(obs.year) over w as next_year
    from obs
    join chk_series as ids  -- the series' id (raw_series.sql)
        on ids.kind = obs.kind
        and ids.region_code is not distinct from obs.region_code
        and ids.variable is not distinct from obs.variable
        and ids.fuel = coalesce(obs.fuel, '')
    where obs.value > 0 and isfinite(obs.value)
        and obs.kind in (select kind from chk_level_rules)
    window w as (partition by ids.series_id order by obs.year, obs.__idx)
),
steps as (
    select
        series.*,
        ids.kind,
        ids.variable,
        ids.fuel,
        rules.floor,
        log10(series.value / series.prev_value) as up,
        log10(series.value / series.next_value) as down
    from series
    join chk_series as ids using (series_id)
    join chk_level_rules as rules using (kind)
    where series.prev_year = series.year - 1 and series.next_year = series.year + 1
),
excursions as (
    select steps.kind, steps.__idx,
        -- an error where near zero is implausible and both neighbours are at least the kind's
        -- level floor; elsewhere (a dip of a fuel that can fall for real, small values) a
        -- warning: no real cell of 2000-2019 comes within the tolerance of either
        case when least(steps.prev_value, steps.next_value) >= steps.floor
            and (steps.up > 0 or exists (
                select 1 from chk_level_both as both_ways
                where both_ways.kind = steps.kind and both_ways.variable = steps.variable
                    and both_ways.fuel = steps.fuel
            ))
            then 'excursion' else 'excursion_minor' end as col,
        chk_fmt(steps.value) || ' ' || cell.unit || ' is '
            || case when round(steps.up) > 0
                then 'about ' || format('{:,}', (10 ** round(steps.up))::hugeint) || 'x'
                else 'about 1/' || format('{:,}', (10 ** (-round(steps.up)))::hugeint)
                    || ' of' end
            || ' both its neighbours in its own series (' || chk_fmt(steps.prev_value) || ' in '
            || steps.prev_year || ', ' || chk_fmt(steps.next_value) || ' in ' || steps.next_year
            || '): a typo or a unit slip in this cell' as note
    from steps
    cross join bounds
    join obs as cell on cell.kind = steps.kind and cell.__idx = steps.__idx
    where round(steps.up) = round(steps.down) and round(steps.up) <> 0
        and abs(steps.up - round(steps.up)) <= bounds.excursion_tol
        and abs(steps.down - round(steps.down)) <= bounds.excursion_tol
        and not exists (  -- a level shift (raw_level_shift.sql) already names the cell
            select 1 from chk_level_shift as shifted
            where shifted.kind = steps.kind and shifted.__idx = steps.__idx
                and shifted.level_shift > getvariable('chk_level_shift_max')
        )
),
gdp as (
    select region_code, year, arg_max(value, __idx) as value
    from obs
    where kind = 'gdp' and variable = 'gdp_current' and value > 0 and isfinite(value)
    group by region_code, year
),
indices as (
    select region_code, year, arg_max(value, __idx) as value, max(__idx) as __idx
    from obs
    where kind = 'gdp_index' and variable = 'gdp_index_prev_year' and value > 0
        and isfinite(value)
    group by region_code, year
),
deflators as (
    select
        i.region_code,
        i.year,
        i.__idx,
        i.value as index_value,
        g.value / p.value as growth,
        g.value / p.value / (i.value / 100) - 1 as d,
        coalesce(peers.level, getvariable('chk_peers_declared')) as level,
        coalesce(peers.plural, getvariable('chk_peers_declared')) as plural
    from indices as i
    join gdp as g on g.region_code = i.region_code and g.year = i.year
    join gdp as p on p.region_code = i.region_code and p.year = i.year - 1
    left join chk_peers as peers on peers.code = i.region_code
),
year_median as (
    select level, year, median(d) as med, count(*) as peers
    from deflators
    group by level, year
),
year_mad as (
    select d.level, d.year, median(abs(d.d - m.med)) as mad
    from deflators as d
    join year_median as m using (level, year)
    group by d.level, d.year
),
judged as (
    select
        d.*,
        m.med,
        m.peers,
        s.mad,
        d.d < b.band_min or d.d > b.band_max as outside_band,
        coalesce(m.peers >= getvariable('chk_level_min_provinces') and s.mad > 0
            and (d.d - m.med < b.dev_min or d.d - m.med > b.dev_max)
            and ((d.d - m.med) / s.mad < b.mad_min or (d.d - m.med) / s.mad > b.mad_max),
            false) as outside_peers
    from deflators as d
    join year_median as m using (level, year)
    join year_mad as s using (level, year)
    cross join bounds as b
),
chains as (
    select
        f.region_code,
        f.year,
        backs.back,
        100 * exp(sum(ln(k.value / 100))) * f.growth / (1 + f.med) as expected
    from judged as f
    cross join bounds as b
    cross join (select range as back from range(2, 11)) as backs
    join indices as k
        on k.region_code = f.region_code and k.year > f.year - backs.back and k.year < f.year
    -- only the rows `flagged` can take: out of the band or the peers, or low enough to flag on
    -- a fit
    where f.outside_band or f.outside_peers or f.d - f.med <= b.cum_dev
    group by f.region_code, f.year, backs.back, f.growth, f.med
    having count(*) = backs.back - 1
),
best_chain as (
    select
        c.region_code,
        c.year,
        arg_min(c.back, abs(f.index_value / c.expected - 1)) as back,
        arg_min(c.expected, abs(f.index_value / c.expected - 1)) as expected,
        min(abs(f.index_value / c.expected - 1)) as misfit
    from chains as c
    join judged as f using (region_code, year)
    group by c.region_code, c.year
),
flagged as (
    select j.*, c.back, c.expected, c.misfit
    from judged as j
    cross join bounds as b
    left join best_chain as c using (region_code, year)
    where j.outside_band or j.outside_peers
        -- inside the band, an index that fits the cumulative hypothesis and lowers the
        -- deflator that far below its year's median (cumulative_deviation)
        or (c.misfit <= b.fit_tol and j.d - j.med <= b.cum_dev)
),
deflator_notes as (
    select 'gdp_index' as kind, f.__idx, 'implied_deflator' as col,
        'implied GDP deflator ' || format('{:+.1f}', 100 * f.d) || ' % (GDP ' || f.year || ' / '
            || (f.year - 1) || ' = ' || format('{:.4f}', f.growth) || ', index '
            || chk_fmt(f.index_value) || ')'
            || case when f.outside_band
                then ', outside ' || format('{:+.0f}', 100 * b.band_min) || ' % to '
                    || format('{:+.0f}', 100 * b.band_max) || ' %'
                else '' end
            || case when f.peers >= getvariable('chk_level_min_provinces')
                then '; the ' || f.year || ' median of ' || f.peers || ' ' || f.plural || ' is '
                    || format('{:+.1f}', 100 * f.med) || ' %'
                    || case when f.mad > 0
                        then ' (' || format('{:+.1f}', (f.d - f.med) / f.mad) || ' MADs)'
                        else '' end
                else '' end
            || ' (reference/plausibility_bounds.csv implied_deflator)'
            || case when f.misfit <= b.fit_tol
                then ': ' || chk_fmt(f.index_value) || ' is about the index of ' || f.year
                    || ' on a ' || (f.year - f.back) || ' = 100 basis ('
                    || format('{:.1f}', f.expected)
                    || ' from the earlier indices and this year''s growth): a cumulative index '
                    || 'in the previous-year = 100 column?'
                else ': an index on another basis, or a GDP level off?' end as note
    from flagged as f
    cross join bounds as b
)
select kind, __idx, col, note from excursions
union all
select kind, __idx, col, note from deflator_notes
