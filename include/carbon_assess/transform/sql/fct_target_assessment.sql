-- Each province against its plan target, for every year of the plan (DESIGN.md §7).
--   annual target (even pace)  a = 1 − (1 − T)^(1/5); cumulative progress target e(t)
--   points = max_points × clamp(actual / target, 0, 1) per part (scoring_rules.csv)
--   veto: the annual or the cumulative progress target missed → grade 'fail' whatever the score
--   status: end year → met / missed; earlier years → on schedule / behind; no number without data
-- Without a measures score sheet the total and the grade are provisional (the note says why).
with rules as (
    select
        plan_id,
        rules_version,
        max(case when part = 'annual_target' then cast(max_points as double) end)
            as annual_max,
        max(case when part = 'cumulative_progress' then cast(max_points as double) end)
            as cumulative_max,
        max(case when part = 'tasks_and_measures' then cast(max_points as double) end)
            as measures_max
    from ref_scoring_rules
    group by plan_id, rules_version
),
scored as (
    select
        i.plan_id,
        i.province_code,
        i.year as assessment_year,
        p.end_year,
        i.target_pct,
        100 * (1 - pow(1 - i.target_pct / 100, 1 / 5.0)) as annual_target_pct,
        i.annual_decline_pct,
        i.expected_decline_pct,
        i.cumulative_decline_pct,
        i.completion_pct,
        r.rules_version,
        r.annual_max,
        r.cumulative_max,
        r.measures_max,
        py.data_gaps,
        i.cumulative_decline_pct is null or i.annual_decline_pct is null as insufficient
    from fct_intensity as i
    join dim_plan as p using (plan_id)
    join rules as r using (plan_id)
    left join fct_province_year as py on py.province_code = i.province_code and py.year = i.year
    where i.target_pct is not null and i.year > p.base_year
),
points as (
    select
        *,
        annual_max * least(greatest(annual_decline_pct / annual_target_pct, 0), 1)
            as annual_points,
        cumulative_max * least(greatest(cumulative_decline_pct / expected_decline_pct, 0), 1)
            as cumulative_points,
        annual_decline_pct < annual_target_pct - 1e-9 as annual_missed,
        cumulative_decline_pct < expected_decline_pct - 1e-9 as cumulative_missed
    from scored
)
select
    plan_id,
    province_code,
    assessment_year,
    assessment_year = end_year as end_of_plan,
    target_pct,
    annual_target_pct,
    case when not insufficient then annual_decline_pct end as annual_decline_pct,
    expected_decline_pct,
    case when not insufficient then cumulative_decline_pct end as cumulative_decline_pct,
    case when not insufficient then completion_pct end as completion_pct,
    case
        when insufficient then 'insufficient data'
        when assessment_year = end_year and cumulative_decline_pct >= target_pct - 1e-9 then 'met'
        when assessment_year = end_year then 'missed'
        when cumulative_missed then 'behind'
        else 'on schedule'
    end as status,
    case when not insufficient then round(annual_points, 2) end as annual_target_score,
    case when not insufficient then round(cumulative_points, 2) end as cumulative_target_score,
    case when not insufficient then round(annual_points + cumulative_points, 2) end
        as target_score,
    annual_max + cumulative_max as target_score_max,
    cast(null as double) as measures_score,
    measures_max as measures_score_max,
    cast(null as double) as total_score,
    case
        when insufficient then 'insufficient data'
        when annual_missed or cumulative_missed then 'fail'
        else 'provisional'
    end as grade,
    not insufficient and not (annual_missed or cumulative_missed) as grade_is_provisional,
    case when not insufficient then annual_missed or cumulative_missed end as veto,
    case
        when insufficient then 'insufficient data: ' || coalesce(data_gaps, 'base year incomplete')
        when annual_missed and cumulative_missed then
            format('veto: annual target missed ({:.2f}% < {:.2f}%) and cumulative progress target missed ({:.2f}% < {:.2f}%)',
                annual_decline_pct, annual_target_pct, cumulative_decline_pct, expected_decline_pct)
        when annual_missed then
            format('veto: annual target missed ({:.2f}% < {:.2f}%)', annual_decline_pct, annual_target_pct)
        when cumulative_missed then
            format('veto: cumulative progress target missed ({:.2f}% < {:.2f}%)',
                cumulative_decline_pct, expected_decline_pct)
        else format('provisional: no measures score sheet, target part {:.1f}/{:.0f} points',
                annual_points + cumulative_points, annual_max + cumulative_max)
    end as note,
    rules_version
from points
order by plan_id, province_code, assessment_year
