-- implausible(what, x): why a quantity a geography-year cannot do without (coal consumption, GDP,
-- GDP index, population; DESIGN.md §3 "Levels and zeros") is unusable: '<what> 0',
-- '<what> negative' or '<what> not finite' (NaN, ±infinity); null when x is null (a blank has
-- reasons of its own) or a positive finite number. Validation refuses such inputs; this is the
-- defence in depth that keeps them from reaching a comparison (DuckDB orders NaN above every
-- number, so a NaN decline would pass `>=`).
create or replace macro implausible(what, x) as
    case
        when x is null then null
        when isnan(x) or isinf(x) then what || ' not finite'
        when x = 0 then what || ' 0'
        when x < 0 then what || ' negative'
    end;
