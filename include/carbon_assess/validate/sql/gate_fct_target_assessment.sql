-- Output gate on fct_target_assessment: every published row, plus one blank row for each
-- province-year the table should hold and does not, with the flags of the `sql` tests of
-- transform/sql/fct_target_assessment.yml (validate/output_suites.py adds the generic tests'
-- columns: finite flags, score maxima, decides_verdict). Read from compute.duckdb after the
-- assess stage, before anything is published.
--
-- The verdicts are re-derived from the published figures, the plan (dim_plan), the scoring rules
-- (stg_scoring_rules) and the grade thresholds (stg_grade_thresholds) as DESIGN.md §7 states
-- them (and int_target_assessment computes them), with the one comparison of the macro reaches
-- (tolerance 1e-9 pp); a NaN or infinite decline never yields a verdict here.
--   in_table / in_grid      the row is published / the province-year is one the table must hold:
--                           each unit of int_geo_year (the 31 provinces and every unit with
--                           data; not the nation) in each year of each plan whose base
--                           year lies within the years of data (int_geo_year), up to the last one
--   expected_status         insufficient data (a decline blank) / no target / met or missed in
--                           the plan's end year (decline reaches the target) / on schedule or
--                           behind before it (decline reaches the expected decline)
--   expected_veto           a part marked veto_if_missed (scoring rules) missed: the annual
--                           decline short of the annual target, or the cumulative decline short
--                           of the expected decline; blank without declines or target
--   expected_grade          insufficient data / not assessed (no target) / fail (veto) /
--                           provisional (no measures score) / the threshold grade of the total
--   margin_sign_ok          margin_pp (decline minus the threshold of the status) is present for
--                           a row with a verdict, blank otherwise, and has the status's sign:
--                           met / on schedule ⇒ ≥ −1e-9, missed / behind ⇒ < 0
--   reason_ok               a published row has a reason
-- Every derived check is true on a row that is not published (the coverage rule reports it).
with data_years as (
    select distinct year from int_geo_year
),
expected_rows as (
    select p.plan_id, d.region_code, y.year as assessment_year
    from dim_plan as p
    join data_years as y on y.year between p.start_year and p.end_year
    cross join (select distinct region_code from int_geo_year where region_code <> '000000') as d
    where p.base_year in (select year from data_years)
),
rows as (
    -- `using`: one set of key columns, the published row's or, for a missing one, the grid's
    select *
    from (select *, true as in_table from fct_target_assessment) as a
    full outer join (select *, true as in_grid from expected_rows) as e
        using (plan_id, region_code, assessment_year)
),
rules as (
    select
        plan_id,
        max(case when part = 'annual_target' then max_points end) as annual_max,
        max(case when part = 'cumulative_progress' then max_points end) as cumulative_max,
        bool_or(part = 'annual_target' and veto_if_missed) as annual_veto,
        bool_or(part = 'cumulative_progress' and veto_if_missed) as cumulative_veto
    from stg_scoring_rules
    group by plan_id
),
joined as (
    select
        r.* replace (
            coalesce(r.in_table, false) as in_table, coalesce(r.in_grid, false) as in_grid
        ),
        p.end_year,
        rules.annual_max as annual_target_score_max,
        rules.cumulative_max as cumulative_target_score_max,
        rules.annual_veto as annual_part_veto,
        rules.cumulative_veto as cumulative_part_veto,
        i.annual_decline_pct as intensity_annual_decline_pct,
        i.cumulative_decline_pct as intensity_cumulative_decline_pct,
        r.annual_decline_pct is null or r.cumulative_decline_pct is null as no_decline,
        isfinite(r.cumulative_decline_pct) and isfinite(r.target_pct)
            and isfinite(r.expected_decline_pct) as judgeable
    from rows as r
    left join dim_plan as p using (plan_id)
    left join rules using (plan_id)
    left join fct_intensity as i
        on i.plan_id = r.plan_id and i.region_code = r.region_code
        and i.year = r.assessment_year
),
verdicts as (
    select
        *,
        case
            when no_decline then 'insufficient data'
            when target_pct is null then 'no target'
            when not coalesce(judgeable, false) then null
            when assessment_year = end_year then
                case when reaches(cumulative_decline_pct, target_pct) then 'met' else 'missed' end
            when reaches(cumulative_decline_pct, expected_decline_pct) then 'on schedule'
            else 'behind'
        end as expected_status,
        case
            when not (no_decline or target_pct is null) then
                (coalesce(annual_part_veto, false)
                    and not reaches(annual_decline_pct, annual_target_pct))
                or (coalesce(cumulative_part_veto, false)
                    and not reaches(cumulative_decline_pct, expected_decline_pct))
        end as expected_veto
    from joined
),
grades as (
    select
        v.*,
        case
            when no_decline then 'insufficient data'
            when target_pct is null then 'not assessed'
            when veto then 'fail'
            when measures_score is null then 'provisional'
            else (
                select t.grade
                from stg_grade_thresholds as t
                where t.rules_version = v.rules_version and v.total_score >= t.min_total_score
                order by t.min_total_score desc
                limit 1
            )
        end as expected_grade
    from verdicts as v
)
select
    *,
    case
        when not in_table then 'no row in fct_target_assessment'
        when status is null then 'status blank'
    end as coverage_note,
    not in_table or coalesce(
        case
            when status in ('met', 'on schedule') then margin_pp >= -1e-9
            when status in ('missed', 'behind') then margin_pp < 0
            else margin_pp is null
        end, false
    ) as margin_sign_ok,
    'status ' || coalesce('''' || status || '''', 'blank') || ', margin '
        || coalesce(format('{:.6g}', margin_pp) || ' pp', 'blank') as margin_note,
    not in_table or reason is not null as reason_ok,
    not in_table or coalesce(end_of_plan = (assessment_year = end_year), false)
        as end_of_plan_ok,
    not in_table or coalesce(
        (annual_decline_pct is null
            or (reaches(annual_decline_pct, intensity_annual_decline_pct)
                and reaches(intensity_annual_decline_pct, annual_decline_pct)))
        and (cumulative_decline_direct_pct is null
            or (reaches(cumulative_decline_direct_pct, intensity_cumulative_decline_pct)
                and reaches(intensity_cumulative_decline_pct, cumulative_decline_direct_pct))),
        false
    ) as declines_match_intensity,
    'fct_intensity has annual '
        || coalesce(format('{:.6g}', intensity_annual_decline_pct) || ' %', 'blank')
        || ', cumulative '
        || coalesce(format('{:.6g}', intensity_cumulative_decline_pct) || ' %', 'blank')
        as intensity_note,
    not in_table or cumulative_decline_pct is not distinct from
        coalesce(cumulative_decline_chained_pct, cumulative_decline_direct_pct)
        as official_decline_ok,
    not in_table or status is null
        or coalesce(status = expected_status, false) as status_ok,
    'cumulative decline ' || coalesce(format('{:.6g}', cumulative_decline_pct) || ' %', 'blank')
        || ', target ' || coalesce(format('{:.6g}', target_pct) || ' %', 'blank')
        || ', expected by this year '
        || coalesce(format('{:.6g}', expected_decline_pct) || ' %', 'blank')
        || ', plan ends ' || coalesce(cast(end_year as varchar), '?') || ': expected '
        || coalesce('''' || expected_status || '''', 'no verdict (a figure is not finite)')
        as status_note,
    not in_table
        or target_achieved is not distinct from (
            case status when 'met' then true when 'missed' then false end
        ) as target_achieved_ok,
    not in_table or status is distinct from 'insufficient data' or coalesce(
        annual_decline_pct is null and cumulative_decline_pct is null
        and cumulative_decline_direct_pct is null and cumulative_decline_chained_pct is null
        and completion_pct is null and annual_target_score is null
        and cumulative_target_score is null and target_score is null and total_score is null
        and veto is null and target_achieved is null, false
    ) as insufficient_data_has_no_figures,
    not in_table or veto is not distinct from expected_veto as veto_ok,
    'annual decline ' || coalesce(format('{:.6g}', annual_decline_pct) || ' %', 'blank')
        || ' vs annual target ' || coalesce(format('{:.6g}', annual_target_pct) || ' %', 'blank')
        || ', cumulative ' || coalesce(format('{:.6g}', cumulative_decline_pct) || ' %', 'blank')
        || ' vs expected ' || coalesce(format('{:.6g}', expected_decline_pct) || ' %', 'blank')
        || ': expected veto ' || coalesce(cast(expected_veto as varchar), 'blank')
        as veto_note,
    not in_table or not coalesce(veto, false) or coalesce(grade = 'fail', false)
        as veto_grade_ok,
    not in_table or coalesce(grade = expected_grade, false) as grade_ok,
    'total score ' || coalesce(format('{:.6g}', total_score), 'blank')
        || ', measures ' || coalesce(format('{:.6g}', measures_score), 'blank')
        || ', veto ' || coalesce(cast(veto as varchar), 'blank')
        || ': expected ' || coalesce('''' || expected_grade || '''', 'no grade')
        as grade_note,
    not in_table or grade_is_provisional is not distinct from (grade = 'provisional')
        as provisional_flag_ok
from grades
