-- Each province against its plan target, for every year of the plan (DESIGN.md §7).
--   annual target: the province's own figure (annual targets sheet), else even pace 1 − (1 − T)^(1/5)
--   cumulative progress target e(t) = 1 − (1 − T)^((t − B)/5)
--   chaining: where the cumulative decline of t − 1 was confirmed in an earlier assessment (sheet),
--     D(t) = 1 − (1 − D_confirmed(t − 1)) × (1 − annual(t)) is the official figure; the directly
--     recomputed figure and the difference are published next to it
--   points = max_points × clamp(actual / target, 0, 1) per part (reference/scoring_rules.csv)
--   measures = Σ assessors' points (measures sheet); total = target points + measures
--   grade from reference/grade_thresholds.csv; veto (a part marked veto_if_missed in
--     scoring_rules.csv missed: annual target, cumulative progress) → 'fail' whatever the score; no measures sheet → 'provisional' (the note says why)
--   status: end year → met / missed (未完成); earlier → on schedule / behind; never a number
--     without data ('insufficient data'); a plan without provincial carbon targets (11th FYP)
--     → 'no target', grade 'not assessed'
with rules as (
    select
        plan_id,
        rules_version,
        max(case when part = 'annual_target' then cast(max_points as double) end) as annual_max,
        max(case when part = 'cumulative_progress' then cast(max_points as double) end)
            as cumulative_max,
        max(case when part = 'tasks_and_measures' then cast(max_points as double) end)
            as measures_max,
        bool_or(part = 'annual_target' and veto_if_missed = 'true') as annual_veto,
        bool_or(part = 'cumulative_progress' and veto_if_missed = 'true') as cumulative_veto
    from ref_scoring_rules
    group by plan_id, rules_version
),
thresholds as (
    select rules_version, grade, cast(min_total_score as double) as min_total_score
    from ref_grade_thresholds
),
measures as (
    select plan_id, province_code, assessment_year, sum(points) as measures_score
    from fct_measures_score
    group by all
),
base as (
    select
        i.plan_id,
        i.province_code,
        i.year as assessment_year,
        p.base_year,
        p.end_year,
        i.target_pct,
        coalesce(
            yt.annual_target_pct,
            100 * (1 - pow(1 - i.target_pct / 100, 1 / 5.0))
        ) as annual_target_pct,
        case when yt.annual_target_pct is null then 'even pace' else 'province figure' end
            as annual_target_basis,
        i.annual_decline_pct,
        i.expected_decline_pct,
        i.cumulative_decline_pct as direct_decline_pct,
        100 * (1 - (1 - c.confirmed_decline_pct / 100) * (1 - i.annual_decline_pct / 100))
            as chained_decline_pct,
        r.rules_version,
        r.annual_max,
        r.cumulative_max,
        r.measures_max,
        r.annual_veto,
        r.cumulative_veto,
        m.measures_score,
        py.data_gaps,
        i.cumulative_decline_pct is null or i.annual_decline_pct is null as insufficient
    from fct_intensity as i
    join dim_plan as p using (plan_id)
    left join rules as r using (plan_id)  -- plans without a carbon target have no rules
    left join sheet_annual_targets as yt
        on yt.plan = i.plan_id and yt.province = i.province_code and yt.year = i.year
    left join sheet_confirmed_declines as c
        on c.plan = i.plan_id and c.province = i.province_code and c.year = i.year - 1
    left join measures as m
        on m.plan_id = i.plan_id and m.province_code = i.province_code
        and m.assessment_year = i.year
    left join fct_province_year as py on py.province_code = i.province_code and py.year = i.year
    where i.year > p.base_year
),
official as (
    select
        *,
        coalesce(chained_decline_pct, direct_decline_pct) as decline_pct
    from base
),
points as (
    select
        *,
        annual_max * least(greatest(annual_decline_pct / annual_target_pct, 0), 1)
            as annual_points,
        cumulative_max * least(greatest(decline_pct / expected_decline_pct, 0), 1)
            as cumulative_points,
        annual_decline_pct < annual_target_pct - 1e-9 as annual_missed,
        decline_pct < expected_decline_pct - 1e-9 as cumulative_missed,
        (annual_veto and annual_decline_pct < annual_target_pct - 1e-9)
            or (cumulative_veto and decline_pct < expected_decline_pct - 1e-9) as vetoed
    from official
),
scored as (
    select
        *,
        round(annual_points + cumulative_points, 2) as target_points,
        round(annual_points + cumulative_points, 2) + measures_score as total_points
    from points
),
graded as (
    select
        s.*,
        (
            select t.grade
            from thresholds as t
            where t.rules_version = s.rules_version and s.total_points >= t.min_total_score
            order by t.min_total_score desc
            limit 1
        ) as score_grade
    from scored as s
)
select
    plan_id,
    province_code,
    assessment_year,
    assessment_year = end_year as end_of_plan,
    target_pct,
    annual_target_pct,
    annual_target_basis,
    case when not insufficient then annual_decline_pct end as annual_decline_pct,
    expected_decline_pct,
    case when not insufficient then decline_pct end as cumulative_decline_pct,
    case when not insufficient then direct_decline_pct end as cumulative_decline_direct_pct,
    case when not insufficient then chained_decline_pct end as cumulative_decline_chained_pct,
    case when not insufficient then chained_decline_pct - direct_decline_pct end
        as chaining_difference_pct,
    case when not insufficient then 100 * greatest(decline_pct, 0) / target_pct end
        as completion_pct,
    case
        when insufficient then 'insufficient data'
        when target_pct is null then 'no target'
        when assessment_year = end_year and decline_pct >= target_pct - 1e-9 then 'met'
        when assessment_year = end_year then 'missed'
        when cumulative_missed then 'behind'
        else 'on schedule'
    end as status,
    case
        when insufficient or assessment_year <> end_year or target_pct is null then null
        else decline_pct >= target_pct - 1e-9
    end as target_achieved,
    case when not insufficient then round(annual_points, 2) end as annual_target_score,
    case when not insufficient then round(cumulative_points, 2) end as cumulative_target_score,
    case when not insufficient then target_points end as target_score,
    annual_max + cumulative_max as target_score_max,
    measures_score,
    measures_max as measures_score_max,
    case when not insufficient then total_points end as total_score,
    case
        when insufficient then 'insufficient data'
        when target_pct is null then 'not assessed'
        when vetoed then 'fail'
        when measures_score is null then 'provisional'
        else score_grade
    end as grade,
    coalesce(
        not insufficient and not vetoed and measures_score is null,
        false
    ) as grade_is_provisional,
    case when not insufficient then vetoed end as veto,
    case
        when insufficient then 'insufficient data: ' || coalesce(data_gaps, 'base or previous year incomplete')
        when target_pct is null then
            format('{} FYP: no provincial carbon-intensity target; declines reported for reference', plan_id)
        when annual_missed or cumulative_missed then
            case when vetoed then 'veto: ' else '' end
            || concat_ws(' and ',
                case when annual_missed then format('annual target missed ({:.2f}% < {:.2f}%)',
                    annual_decline_pct, annual_target_pct) end,
                case when cumulative_missed then
                    format('cumulative progress target missed ({:.2f}% < {:.2f}%)',
                        decline_pct, expected_decline_pct) end)
        when measures_score is null then
            format('provisional: no measures score sheet for this province and year; target part {:.1f}/{:.0f} points',
                target_points, annual_max + cumulative_max)
        else format('total {:.1f} = target {:.1f}/{:.0f} + measures {:.1f}/{:.0f}',
                total_points, target_points, annual_max + cumulative_max, measures_score, measures_max)
    end
    || case when chained_decline_pct is not null and not insufficient
        then format('; chained on the confirmed {} decline', assessment_year - 1) else '' end
        as note,
    rules_version
from graded
order by plan_id, province_code, assessment_year
