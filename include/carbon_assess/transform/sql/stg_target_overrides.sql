-- Provincial targets added or overridden by a user-supplied targets sheet, in the warehouse's
-- names; the source says which file and row each comes from.
select
    plan as plan_id,
    region as region_code,
    target_pct,
    coalesce(nullif(source, '') || '; ', '')
        || format('user sheet {} row {}', source_file, source_row) as source
from sheet_targets
