-- Raw validation in DuckDB (validate/sql_engine.py): the years in which some province reports a
-- fuel (blanks.energy_notes `covered`): a reported cell of that fuel and year.
select distinct fuel, year
from chk_energy_cells
where value_status = 'reported'
