-- even_pace_pct(target_pct, years, plan_years): the cumulative decline (percent) an even pace
-- reaches after `years` of a plan of `plan_years` years towards a reduction of `target_pct`
-- (DESIGN.md §6-7): e = 1 − (1 − T)^(years / plan_years). With years = 1 it is the default
-- annual target; plan_years is end_year − base_year of dim_plan (5 for a Five-Year Plan).
create or replace macro even_pace_pct(target_pct, years, plan_years) as
    100 * (1 - pow(1 - target_pct / 100, years / plan_years));
