-- The extra units a units sheet declares (industrial parks, development zones; sheet_units,
-- typed at ingest, validated by the sheet_units suite), in the warehouse's names.
select
    code as region_code,
    name as name_zh,
    level as region_level,
    parent as parent_code,
    source_file,
    source_row
from sheet_units
