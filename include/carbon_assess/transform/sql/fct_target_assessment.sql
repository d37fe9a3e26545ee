-- Each province against its plan target, for every year of the plan (DESIGN.md §7): the figures
-- and verdicts of int_target_assessment with the note, reason and margin text of
-- int_assessment_notes. Columns added later go at the end (published tables keep their order).
-- A verdict decided by a cell that validation flagged with a warning (int_verdict_evidence) is
-- provisional: verdict_is_provisional, the cells in provisional_cells and in the reason.
select
    a.plan_id,
    province_code_of(r.region_level, a.region_code) as province_code,
    a.assessment_year,
    a.end_of_plan,
    a.target_pct,
    a.annual_target_pct,
    a.annual_target_basis,
    a.annual_decline_pct,
    a.expected_decline_pct,
    a.cumulative_decline_pct,
    a.cumulative_decline_direct_pct,
    a.cumulative_decline_chained_pct,
    a.chaining_difference_pct,
    a.completion_pct,
    a.status,
    a.target_achieved,
    a.annual_target_score,
    a.cumulative_target_score,
    a.target_score,
    a.target_score_max,
    a.measures_score,
    a.measures_score_max,
    a.total_score,
    a.grade,
    a.grade_is_provisional,
    a.veto,
    n.note,
    a.rules_version,
    concat_ws('; ', n.reason, case when e.flagged_cells > 0
        and a.status in ('met', 'missed', 'on schedule', 'behind')
        then 'verdict provisional, decided by flagged input ' || e.provisional_cells end)
        as reason,
    a.margin_pp,
    a.margin_co2_mt,
    a.margin_gdp_pct,
    n.margin_text,
    a.region_code,
    r.region_level,
    coalesce(e.flagged_cells, 0) > 0 and a.status in ('met', 'missed', 'on schedule', 'behind')
        as verdict_is_provisional,
    e.provisional_cells
from int_target_assessment as a
join int_assessment_notes as n using (plan_id, region_code, assessment_year)
left join int_verdict_evidence as e using (plan_id, region_code, assessment_year)
left join dim_region as r on r.region_code = a.region_code
order by a.plan_id, a.region_code, a.assessment_year
