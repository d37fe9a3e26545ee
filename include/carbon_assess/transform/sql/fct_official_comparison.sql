-- The computed verdicts beside the results the authorities published (issue 12), one row per
-- official result: plan, assessment year and province (000000: the nation).
--   provinces: status, grade, cumulative decline and margin_pp of fct_target_assessment
--   nation: cumulative decline of fct_national_intensity (national files; none supplied → the
--     computed figures are null, status 'insufficient data'), margin = decline − expected decline
--   pass = excellent, good or pass; fail = fail. A provisional grade (no measures sheet; only
--     given when no target part was missed, i.e. no veto) counts as pass: the target part is
--     compared, the measures part is unknown. Insufficient data / not assessed → no verdict, so
--     the agreement flags are null.
--   grade_agrees: exact grade; null when either side has no grade (official grade not published,
--     computed grade provisional, insufficient data or not assessed)
--   within_margin: |margin_pp| < within_margin_pp (reference/official_comparison_tolerance.csv:
--     the size of ordinary statistical revisions; the official verdicts used the statistics as
--     first published)
-- Nothing here feeds back into the assessment: a disagreement is information, not a tuning aim.
with tolerance as (
    select within_margin_pp from stg_official_comparison_tolerance
),
national as (
    select
        n.plan_id,
        n.year as assessment_year,
        case
            when n.cumulative_decline_pct is null then 'insufficient data'
            when n.year = p.end_year and n.on_schedule then 'met'
            when n.year = p.end_year then 'missed'
            when n.on_schedule then 'on schedule'
            else 'behind'
        end as computed_status,
        n.cumulative_decline_pct,
        n.cumulative_decline_pct - n.expected_decline_pct as margin_pp
    from fct_national_intensity as n
    join dim_plan as p using (plan_id)
),
computed as (
    select
        o.*,
        coalesce(d.name_en, case when o.province_code = '000000' then 'China' end) as name_en,
        coalesce(a.status, n.computed_status, 'insufficient data') as computed_status,
        a.grade as computed_grade,
        coalesce(a.cumulative_decline_pct, n.cumulative_decline_pct) as computed_decline_pct,
        coalesce(a.margin_pp, n.margin_pp) as margin_pp
    from stg_official_assessment_results as o
    left join dim_province as d using (province_code)
    left join fct_target_assessment as a
        on a.plan_id = o.plan_id and a.province_code = o.province_code
        and a.assessment_year = o.assessment_year
    left join national as n
        on o.province_code = '000000' and n.plan_id = o.plan_id
        and n.assessment_year = o.assessment_year
),
verdicts as (
    select
        *,
        case
            when official_grade in ('excellent', 'good', 'pass') then true
            when official_grade = 'fail' then false
        end as official_pass,
        case
            when computed_grade in ('excellent', 'good', 'pass', 'provisional') then true
            when computed_grade = 'fail' then false
        end as computed_pass
    from computed
)
select
    v.plan_id,
    v.province_code,
    v.assessment_year,
    v.name_en,
    v.official_grade,
    v.official_decline_pct,
    v.source as official_source,
    v.computed_status,
    v.computed_grade,
    v.computed_decline_pct,
    v.official_pass,
    v.computed_pass,
    case
        when v.official_grade is not null
            and v.computed_grade in ('excellent', 'good', 'pass', 'fail')
            then v.computed_grade = v.official_grade
    end as grade_agrees,
    v.computed_pass = v.official_pass as pass_fail_agrees,
    v.computed_decline_pct - v.official_decline_pct as decline_difference_pp,
    v.margin_pp,
    abs(v.margin_pp) < t.within_margin_pp as within_margin,
    t.within_margin_pp
from verdicts as v
cross join tolerance as t
order by v.plan_id, v.province_code, v.assessment_year
