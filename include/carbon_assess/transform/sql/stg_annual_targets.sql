-- Provinces' own annual decline targets (annual targets sheet), in the warehouse's names.
select
    plan as plan_id,
    region as region_code,
    year,
    annual_target_pct,
    source,
    source_file,
    source_sheet,
    source_row
from sheet_annual_targets
