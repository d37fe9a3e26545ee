-- Raw validation in DuckDB (validate/sql_engine.py): the rows whose level shift exceeds
-- level_shift_max (checks.LEVEL_SHIFT_MAX), with their note. Their province-years are left out of
-- the plausibility ratios (checks._shifted): the report names the cell, not the ratios it throws
-- off.
select kind, __idx, region_code, year, level_shift, level_shift_note
from chk_level_shift
where level_shift > getvariable('chk_level_shift_max')
