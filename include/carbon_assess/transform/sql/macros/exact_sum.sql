-- exact_sum(x): the sum of doubles, the same bits whatever the order of the terms. Tables are
-- built in parallel without a row order, and a floating-point sum taken in another order can
-- differ in the last bit, while the same inputs must publish the same rows (idempotence): each
-- term is a DECIMAL(38, 18) (exact integer arithmetic; 1e-18 absolute, far below any published
-- digit; totals up to 1e20: CO2 in Mt, energy in 10,000 tce, GDP in 100 million yuan and
-- population in 10,000 persons of any unit stay below 1e8), summed, and turned back into a
-- double. Costs about as much as sum(); `sum(x order by ...)` cost twice that at county scale.
-- A condition goes inside: exact_sum(case when ... then x end) (a macro takes no FILTER). A
-- term that is not finite, or beyond 1e19 (no real figure; validation refuses them), has no
-- decimal: then the plain sum, so inf and NaN come out as sum() gives them (both branches are
-- computed, hence try_cast).
create or replace macro exact_sum(x) as
    case
        when bool_and(isfinite(x) and abs(x) < 1e19) is false then sum(x)
        else cast(sum(try_cast(x as decimal(38, 18))) as double)
    end;
