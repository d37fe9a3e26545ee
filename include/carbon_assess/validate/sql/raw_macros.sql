-- Raw validation in DuckDB (validate/sql_engine.py): helpers of the raw_*.sql transformations.
-- chk_span(first, last): a span of years as validate.common.year_span says it (2005, 2005-2020).
-- The other formatting helpers are the Python functions themselves, registered by sql_engine:
-- chk_fmt (common.fmt), chk_times (common.times), chk_label (common.province_label), chk_share
-- (blanks._share), chk_as_applied (blanks._as_applied), chk_cell_note (checks.add_not_finite).
create or replace macro chk_span(first_year, last_year) as
    case when first_year = last_year then first_year::varchar
        else first_year::varchar || '-' || last_year::varchar end;
