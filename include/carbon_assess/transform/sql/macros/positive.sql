-- positive(x): x when it is a positive finite number, else null: a denominator that may be divided
-- by (an intensity of the base or previous year, int_intensity).
create or replace macro positive(x) as case when isfinite(x) and x > 0 then x end;
