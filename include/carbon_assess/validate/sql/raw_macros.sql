-- Raw validation in DuckDB (validate/sql_engine.py): helpers of the raw_*.sql transformations.
-- chk_span(first, last): a span of years as validate.common.year_span says it (2005, 2005-2020).
-- chk_power(value, low, high): the power of ten `value` lies off the geometric middle of a range
-- (Python's round(): halves to even); chk_times_off(power): 'about 1,000x too large' for 3,
-- 'about 100x too small' for -2 (power 0: a column off its bounds by less than 10^0.5).
-- The other formatting helpers are the Python functions themselves, registered by sql_engine:
-- chk_fmt (common.fmt), chk_times (common.times), chk_label (common.province_label), chk_share
-- (blanks._share), chk_as_applied (blanks._as_applied), chk_cell_note (checks.add_not_finite).
create or replace macro chk_span(first_year, last_year) as
    case when first_year = last_year then first_year::varchar
        else first_year::varchar || '-' || last_year::varchar end;
create or replace macro chk_power(value, low, high) as
    round_even(log10(value / sqrt(low * high)), 0)::bigint;
create or replace macro chk_times_off(power) as
    case when power = 0 then 'off'
        else 'about ' || format('{:,}', (10 ** abs(power))::hugeint) || 'x too '
            || case when power > 0 then 'large' else 'small' end end;
