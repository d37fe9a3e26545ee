-- Raw validation in DuckDB (validate/sql_engine.py): an integer id for each series of the kinds
-- with a year-on-year or a level rule (chk_yoy_rules, chk_level_rules). A series is (kind,
-- region, variable, fuel; a blank region or variable is a series of its own, a blank fuel is
-- ''). The windows over a series (raw_yoy.sql, raw_consistency.sql) sort every row: by this one
-- integer rather than by four texts, which costs a third less.
select
    row_number() over () as series_id,
    kind,
    region_code,
    variable,
    fuel
from (
    select distinct obs.kind, obs.region_code, obs.variable, coalesce(obs.fuel, '') as fuel
    from obs
    where obs.kind in (select kind from chk_yoy_rules union select kind from chk_level_rules)
)
