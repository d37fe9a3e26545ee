-- The texts of each assessment row, formatted from the figures and verdicts of
-- int_target_assessment:
--   note        one sentence explaining the status and grade (fct_target_assessment.note)
--   reason      the short explanation of the grade, never blank: the veto (which target, short
--               by how many pp), provisional (no measures sheet), insufficient data (the gap),
--               no target, or the score breakdown of a graded row
--   margin_text the margin in words: 'short by 0.46 pp: 0.25 Mt CO2 less or 0.51 % more GDP in
--               2015' / 'ahead by 3.10 pp: 1.2 Mt CO2 more or 3.4 % less GDP in 2015'
with missed as (
    select
        *,
        case when annual_target_missed then format(
            'annual target missed by {:.2f} pp ({:.2f} % < {:.2f} %)',
            annual_target_pct - annual_decline_pct, annual_decline_pct, annual_target_pct)
        end as annual_miss,
        case when cumulative_target_missed then format(
            '{} missed by {:.2f} pp ({:.2f} % < {:.2f} %)',
            case when end_of_plan then 'plan target' else 'cumulative progress target' end,
            expected_decline_pct - cumulative_decline_pct, cumulative_decline_pct,
            expected_decline_pct)
        end as cumulative_miss,
        -- Mt and % with two decimals below 1, one above
        case when abs(margin_co2_mt) < 1 then format('{:.2f}', abs(margin_co2_mt))
            else format('{:.1f}', abs(margin_co2_mt)) end as co2_text,
        case when abs(margin_gdp_pct) < 1 then format('{:.2f}', abs(margin_gdp_pct))
            else format('{:.1f}', abs(margin_gdp_pct)) end as gdp_text
    from int_target_assessment
)
select
    plan_id,
    region_code,
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
        as note,
    case
        when status = 'insufficient data'
            then 'insufficient data: ' || coalesce(data_gaps, 'base or previous year incomplete')
        when status = 'no target' and region_code in (
            select region_code from dim_region where region_level not in ('province', 'nation')
        ) then format(
            'not assessed: no {} FYP carbon-intensity target for this unit (a targets sheet '
            'with a region column sets one)', plan_id)
        when status = 'no target' then format(
            'not assessed: the {} FYP set no provincial carbon-intensity target', plan_id)
        when veto then 'veto: ' || concat_ws('; ', annual_miss, cumulative_miss)
        else concat_ws('; ',
            case when measures_score is null then format(
                'provisional: no measures sheet; target part {:.1f}/{:.0f}',
                target_score, target_score_max)
            else format('{}: total {:.1f} = target {:.1f}/{:.0f} + measures {:.1f}/{:.0f}',
                grade, total_score, target_score, target_score_max, measures_score,
                measures_score_max)
            end,
            -- a target missed without a veto (no part marked veto_if_missed) still shows
            annual_miss, cumulative_miss)
    end as reason,
    case when margin_pp is not null then
        format('{} by {:.2f} pp', case when reaches(margin_pp, 0) then 'ahead' else 'short' end,
            abs(margin_pp))
        || case when co2_text is not null and gdp_text is not null then format(
            ': {} Mt CO2 {} or {} % {} GDP in {}',
            co2_text, case when reaches(margin_pp, 0) then 'more' else 'less' end,
            gdp_text, case when reaches(margin_pp, 0) then 'less' else 'more' end,
            assessment_year) else '' end
    end as margin_text
from missed
order by plan_id, region_code, assessment_year
