-- Raw validation in DuckDB (validate/sql_engine.py): values that are not finite numbers:
-- infinity, or NaN where the cell held a number (chk_cell_note, raw_macros.sql: DuckDB's cast of
-- the text without thousands separators; null when the text is no finite number).
with suspect as (
    select
        kind,
        __idx,
        case
            when isinf(value)
                then 'the raw value is ' || case when value > 0 then 'inf' else '-inf' end
                    || ' (after unit conversion)'
            else chk_cell_note(source_value)
        end as note
    from obs
    where isinf(value) or ((value is null or isnan(value)) and source_value <> '')
)
select kind, __idx, 'not_finite' as col, note
from suspect
where note is not null
