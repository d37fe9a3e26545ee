-- Raw validation in DuckDB (validate/sql_engine.py): the energy-consumption cells the blank-value
-- notes explain (blanks.energy_notes): every non-national consumption row with a fuel, with the
-- value_status the SQL models give it (int_energy_adjustments; chk_status holds the statuses other
-- than 'reported'). Empty when the models could not stage the batch (chk_has_flags false).
select
    obs.__idx,
    obs.region_code,
    obs.year,
    obs.fuel,
    obs.value,
    coalesce(status.value_status, 'reported') as value_status
from obs
left join chk_status as status
    on status.region_code = obs.region_code
    and status.year = obs.year
    and status.fuel = obs.fuel
where getvariable('chk_has_flags')
    and obs.kind = 'energy_consumption'
    and obs.region_code is distinct from getvariable('chk_national')
    and obs.variable = 'consumption'
    and obs.fuel is not null
