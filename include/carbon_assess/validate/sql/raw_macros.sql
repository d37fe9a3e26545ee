-- Raw validation in DuckDB (validate/sql_engine.py): helpers of the raw_*.sql transformations,
-- the wording of the validation notes.
-- chk_span(first, last): a span of years (2005, 2005-2020).
-- chk_power(value, low, high): the power of ten `value` lies off the geometric middle of a range
-- (round half to even); chk_times_off(power): 'about 1,000x too large' for 3,
-- 'about 100x too small' for -2 (power 0: a column off its bounds by less than 10^0.5).
-- chk_fmt(x): a figure, 6 significant digits (1234.57, 1.23457e+06; nan for a blank).
-- chk_times(ratio): how many times, for people: 12, 10,000, 987,654, then 1.2e+07.
-- chk_percent(share): 12.3 %, 0.41 %, 0.0072 %: enough digits to tell a small share from none.
-- chk_label(code): '青海省 (630000)' for a GB/T 2260 unit (chk_region_names), the code otherwise.
-- chk_share(co2, total, fuel, year): a fuel's share of its unit's fuel-combustion CO2.
-- chk_as_applied(status): what the models did with a blank cell (chk_consequences).
-- chk_cell_note(text): the note for a NaN value whose cell text is a finite number (DuckDB's own
-- cast of the text without thousands separators), else null.
create or replace macro chk_fmt(x) as coalesce(printf('%.6g', x), 'nan');
create or replace macro chk_times(ratio) as
    case when ratio < 1e6 then format('{:,.0f}', ratio) else printf('%.2g', ratio) end;
create or replace macro chk_percent(share) as
    case
        when 100 * share = 0 then '0 %'
        when 100 * share >= 10 then printf('%.1f %%', 100 * share)
        else printf('%.2g %%', 100 * share)
    end;
create or replace macro chk_label(label_code) as
    case when label_code is null then 'nan'
        else coalesce((select any_value(n.name) from chk_region_names as n
            where n.code = label_code) || ' (' || label_code || ')', label_code) end;
create or replace macro chk_share(co2, total, fuel, year) as
    case
        when co2 is null then fuel || ' has no combustion emission factor (share of emissions n/a)'
        when total is null or total = 0
            then 'share of the province''s fuel-combustion CO2 in ' || year || ': n/a'
        else chk_percent(co2 / total) || ' of the province''s fuel-combustion CO2 in ' || year
    end;
create or replace macro chk_as_applied(applied_status) as
    case when applied_status = 'assumed_zero' then 'taken as 0 (assumed_zero)'
        else coalesce((select any_value(c.text) from chk_consequences as c
            where c.status = applied_status),
            'value status ' || applied_status || ' downstream') end;
create or replace macro chk_cell_note(text) as
    case when isfinite(try_cast(replace(text, ',', '') as double))
        then 'the cell holds ''' || text || ''', the raw value is NaN' end;
create or replace macro chk_span(first_year, last_year) as
    case when first_year = last_year then first_year::varchar
        else first_year::varchar || '-' || last_year::varchar end;
create or replace macro chk_power(value, low, high) as
    round_even(log10(value / sqrt(low * high)), 0)::bigint;
create or replace macro chk_times_off(power) as
    case when power = 0 then 'off'
        else 'about ' || format('{:,}', (10 ** abs(power))::hugeint) || 'x too '
            || case when power > 0 then 'large' else 'small' end end;
