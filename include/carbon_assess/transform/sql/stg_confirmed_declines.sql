-- Cumulative declines confirmed in earlier assessments (confirmed declines sheet), in the
-- warehouse's names.
select
    plan as plan_id,
    region as region_code,
    year,
    confirmed_decline_pct,
    source,
    source_file,
    source_sheet,
    source_row
from sheet_confirmed_declines
