-- Raw validation in DuckDB (validate/sql_engine.py): the provinces with any fossil-fuel figure
-- (blanks.energy_notes `with_fuel`; fossil = fuels with a combustion factor, chk_fossil).
select distinct region_code
from chk_energy_cells
where value_status = 'reported' and fuel in (select fuel from chk_fossil)
