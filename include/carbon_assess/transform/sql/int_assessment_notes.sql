-- The note of each assessment row (fct_target_assessment.note): one sentence explaining the
-- status and grade, formatted from the figures and verdicts of int_target_assessment.
select
    plan_id,
    province_code,
    assessment_year,
    case
        when status = 'insufficient data'
            then 'insufficient data: ' || coalesce(data_gaps, 'base or previous year incomplete')
        when status = 'no target' then format(
            '{} FYP: no provincial carbon-intensity target; declines reported for reference',
            plan_id)
        when annual_target_missed or cumulative_target_missed then
            case when veto then 'veto: ' else '' end
            || concat_ws(' and ',
                case when annual_target_missed then format(
                    'annual target missed ({:.2f}% < {:.2f}%)',
                    annual_decline_pct, annual_target_pct) end,
                case when cumulative_target_missed then format(
                    'cumulative progress target missed ({:.2f}% < {:.2f}%)',
                    cumulative_decline_pct, expected_decline_pct) end)
        when measures_score is null then format(
            'provisional: no measures score sheet for this province and year; '
            || 'target part {:.1f}/{:.0f} points',
            target_score, target_score_max)
        else format('total {:.1f} = target {:.1f}/{:.0f} + measures {:.1f}/{:.0f}',
            total_score, target_score, target_score_max, measures_score, measures_score_max)
    end
    || case when cumulative_decline_chained_pct is not null
        then format('; chained on the confirmed {} decline', assessment_year - 1) else '' end
        as note
from int_target_assessment
order by plan_id, province_code, assessment_year
