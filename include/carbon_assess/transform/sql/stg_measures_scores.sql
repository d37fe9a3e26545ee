-- The assessors' measures score sheet (sheet_measures, already typed at ingest), in the
-- warehouse's names; a blank note is null.
select
    plan as plan_id,
    region as region_code,
    year as assessment_year,
    indicator,
    points,
    nullif(note, '') as note,
    source,
    source_file,
    source_sheet,
    source_row
from sheet_measures
