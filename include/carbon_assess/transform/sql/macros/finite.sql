-- finite(x): x when it is a finite number, else null (NaN or ±infinity, e.g. a division of doubles
-- by zero). No non-finite figure may reach a comparison: DuckDB orders NaN above every number,
-- so a NaN decline would pass `reaches()` (int_intensity).
create or replace macro finite(x) as case when isfinite(x) then x end;
