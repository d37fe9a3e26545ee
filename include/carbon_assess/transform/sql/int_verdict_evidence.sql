-- The evidence behind each verdict (DESIGN.md §3 "a warning on any cell that decides a verdict
-- makes that verdict provisional"; issue 18): for each unit, plan and assessment year, the raw
-- cells validation flagged with a warning (stg_flagged_cells; reference/verdict_evidence_rules.csv
-- exempts the documented blank-value and rounding policies) among the cells that decide it:
--   every fuel's consumption and production in the base year B, the year before t (the annual
--   decline and its target decide the grade) and the assessment year t,
--   GDP at current prices of B (the constant-price base), and the GDP index chain B+1..t.
-- One row per verdict with a flagged cell; the cells listed as "file row N column C (year): rule".
with verdicts as (
    select i.plan_id, i.region_code, i.year as assessment_year, p.base_year
    from int_intensity as i
    join dim_plan as p using (plan_id)
    where i.year > p.base_year
),
deciding as (
    select v.plan_id, v.region_code, v.assessment_year, f.source_file, f.source_row,
        f.source_column,
        f.source_file || ' row ' || coalesce(f.source_row::varchar, '?') || ' column '
            || coalesce(f.source_column, '?') || ' (' || f.year || '): ' || f.rule as cell
    from verdicts as v
    join stg_flagged_cells as f
        on f.region_code = v.region_code
        and (
            (f.kind in ('energy_consumption', 'energy_production')
                and f.year in (v.base_year, v.assessment_year - 1, v.assessment_year))
            or (f.kind = 'gdp' and f.variable = 'gdp_current' and f.year = v.base_year)
            or (f.kind = 'gdp_index' and f.year > v.base_year and f.year <= v.assessment_year)
        )
)
select
    plan_id,
    region_code,
    assessment_year,
    count(distinct (source_file, source_row, source_column)) as flagged_cells,
    string_agg(distinct cell, '; ' order by cell) as provisional_cells
from deciding
group by plan_id, region_code, assessment_year
