-- Raw validation in DuckDB (validate/sql_engine.py): the year-on-year factor of each value.
-- One row per raw row of a kind with a year-on-year rule (chk_yoy_rules, from checks.YOY_RULES):
-- max(v, prev) / min(v, prev) between consecutive years of one (region, variable, fuel) series,
-- when both values are > 0 and one is >= the kind's floor; null when not comparable.
-- Each series (chk_series) is sorted by year, ties in file order; NaN is no value here, hence the
-- explicit isnan (DuckDB orders NaN above every number).
with ordered as (
    select
        obs.kind,
        obs.__idx,
        obs.year,
        obs.value,
        rules.floor,
        lag(obs.value) over series as prev_value,
        lag(obs.year) over series as prev_year
    from obs
    join chk_yoy_rules as rules using (kind)
    join chk_series as ids  -- the series' id (raw_series.sql)
        on ids.kind = obs.kind
        and ids.region_code is not distinct from obs.region_code
        and ids.variable is not distinct from obs.variable
        and ids.fuel = coalesce(obs.fuel, '')
    window series as (partition by ids.series_id order by obs.year, obs.__idx)
)
select
    kind,
    __idx,
    case
        when prev_year = year - 1
            and value > 0 and not isnan(value)
            and prev_value > 0 and not isnan(prev_value)
            and greatest(value, prev_value) >= floor
            then greatest(value, prev_value) / least(value, prev_value)
    end as yoy_factor
from ordered
