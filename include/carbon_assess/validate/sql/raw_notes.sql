-- Raw validation in DuckDB (validate/sql_engine.py): every note of a raw row or placeholder, one
-- row per (kind, row index, note column): the derived note columns (checks.NOTE_COLUMNS). A zero
-- coal cell's `coal_missing` note (raw_not_positive.sql) stays off a row that already has a
-- blank-cell `coal_missing` note.
with energy as (
    select kind, __idx, col, note from chk_no_fuel_data
    union all
    select kind, __idx, col, note from chk_not_covered
    union all
    select kind, __idx, col, note from chk_blank_runs
)
select kind, __idx, col, note from energy
union all
select zero.kind, zero.__idx, zero.col, zero.note
from chk_not_positive as zero
where zero.col = 'coal_missing'
    and not exists (
        select 1 from energy
        where energy.kind = zero.kind and energy.__idx = zero.__idx and energy.col = zero.col
    )
union all
select kind, __idx, col, note from chk_not_positive where col = 'not_positive'
union all
select kind, __idx, col, note from chk_not_finite
union all
select kind, existing_idx as __idx, col, note
from chk_coverage_findings
where existing_idx is not null
union all
select kind, __idx, col, note from chk_placeholders
union all
select kind, __idx, col, note from chk_implausible
union all
select kind, __idx, col, note from chk_column_level
union all
select kind, __idx, col, note from chk_consistency
union all
select kind, __idx, col, note from chk_fuel_columns
