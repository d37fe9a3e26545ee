-- Each province against its plan target, for every year of the plan (DESIGN.md §7): the figures
-- and verdicts of fct_target_assessment (its note is formatted apart, in int_assessment_notes).
--   plan length n = end year − base year (dim_plan)
--   annual target: the province's own figure (annual targets sheet), else even pace 1 − (1 − T)^(1/n)
--   cumulative progress target e(t) = 1 − (1 − T)^((t − B)/n)   (int_intensity; macro even_pace_pct)
--   chaining: where the cumulative decline of t − 1 was confirmed in an earlier assessment (sheet),
--     D(t) = 1 − (1 − D_confirmed(t − 1)) × (1 − annual(t)) is the official figure; the directly
--     recomputed figure and the difference are published next to it
--   reaches / missed: one comparison with one tolerance, the macro reaches (sql/macros)
--   points = max_points × completion_rate(actual, target), i.e. actual / target clamped to
--     0..1, per part (reference/scoring_rules.csv; macro completion_rate)
--   measures = Σ assessors' points (measures sheet); total = target points + measures
--   grade from reference/grade_thresholds.csv; veto (a part marked veto_if_missed in
--     scoring_rules.csv missed: annual target, cumulative progress) → 'fail' whatever the score;
--     no measures sheet → 'provisional' (the note says why)
--   status: end year → met / missed (未完成); earlier → on schedule / behind; never a number
--     without data ('insufficient data': the declines are nulled once, in `inputs`, so every
--     figure computed from them is null; a decline that is null or not finite counts, so no
--     NaN reaches reaches()); a plan without provincial carbon targets (11th FYP)
--     → 'no target', grade 'not assessed'
--   margin (DESIGN.md §7), beside every verdict with a decline and a target: the threshold is
--     the target T in the plan's end year, the cumulative progress target e(t) before (the
--     threshold of the status); D = the official cumulative decline:
--       margin_pp      = D − threshold (pp; ≥ −1e-9 exactly when the status is met / on schedule)
--       I_base         = I(B) (int_intensity); where D is chained, the base it implies,
--                        I(t) / (1 − D), so that the equivalents below agree with D
--       I_threshold    = I_base × (1 − threshold/100)
--       margin_co2_mt  = I_threshold × GDP_B(t) − CO2(t)   (Mt of year t; + = room, − = excess)
--       margin_gdp_pct = (1 − GDP_needed / GDP_B(t)) × 100, GDP_needed = CO2(t) / I_threshold
--                        (+ = GDP could be that much lower, − = that much more GDP needed)
--     every figure through finite()/positive(): null, never NaN or infinity
--   data_gaps (the reason the note gives for insufficient data): the assessment year's own
--     int_geo_year.data_gaps, else those of the latest year since the base year that has any
--     ('2010 (base year): GDP 0')
with rules as (
    select
        plan_id,
        rules_version,
        max(case when part = 'annual_target' then max_points end) as annual_max,
        max(case when part = 'cumulative_progress' then max_points end) as cumulative_max,
        max(case when part = 'tasks_and_measures' then max_points end) as measures_max,
        bool_or(part = 'annual_target' and veto_if_missed) as annual_veto,
        bool_or(part = 'cumulative_progress' and veto_if_missed) as cumulative_veto
    from stg_scoring_rules
    group by plan_id, rules_version
),
measures as (
    select plan_id, region_code, assessment_year, sum(points order by indicator) as measures_score
    from int_measures_score
    group by all
),
base as (
    select
        i.plan_id,
        i.region_code,
        i.year as assessment_year,
        p.end_year,
        i.target_pct,
        coalesce(
            yt.annual_target_pct,
            even_pace_pct(i.target_pct, 1, p.end_year - p.base_year)
        ) as annual_target_pct,
        case when yt.annual_target_pct is null then 'even pace' else 'province figure' end
            as annual_target_basis,
        i.annual_decline_pct,
        i.expected_decline_pct,
        i.cumulative_decline_pct as direct_decline_pct,
        c.confirmed_decline_pct,
        i.intensity_t_per_10k_yuan,
        i.gdp_const_100m_yuan,
        i.co2_mt,
        bi.intensity_t_per_10k_yuan as base_intensity_t_per_10k_yuan,
        r.rules_version,
        r.annual_max,
        r.cumulative_max,
        r.measures_max,
        r.annual_veto,
        r.cumulative_veto,
        m.measures_score,
        coalesce(
            py.data_gaps,
            (
                select
                    format('{}{}: {}', g.year,
                        case when g.year = p.base_year then ' (base year)' else '' end,
                        g.data_gaps)
                from int_geo_year as g
                where g.region_code = i.region_code
                    and g.year between p.base_year and i.year - 1
                    and g.data_gaps is not null
                order by g.year desc
                limit 1
            )
        ) as data_gaps,
        i.cumulative_decline_pct is null or i.annual_decline_pct is null
            or not isfinite(i.cumulative_decline_pct) or not isfinite(i.annual_decline_pct)
            as insufficient
    from int_intensity as i
    join dim_plan as p using (plan_id)
    left join rules as r using (plan_id)  -- plans without a carbon target have no rules
    left join stg_annual_targets as yt
        on yt.plan_id = i.plan_id and yt.region_code = i.region_code and yt.year = i.year
    left join stg_confirmed_declines as c
        on c.plan_id = i.plan_id and c.region_code = i.region_code and c.year = i.year - 1
    left join measures as m
        on m.plan_id = i.plan_id and m.region_code = i.region_code
        and m.assessment_year = i.year
    left join int_geo_year as py on py.region_code = i.region_code and py.year = i.year
    left join int_intensity as bi
        on bi.plan_id = i.plan_id and bi.region_code = i.region_code
        and bi.year = p.base_year
    where i.year > p.base_year and i.region_code <> '000000'
),
inputs as (
    -- insufficient data: both declines null (never one without the other), so the official
    -- decline, chaining, completion, points, scores and verdicts below are null as well
    select
        * replace (
            case when not insufficient then annual_decline_pct end as annual_decline_pct,
            case when not insufficient then direct_decline_pct end as direct_decline_pct
        )
    from base
),
chained as (
    select
        *,
        100 * (1 - (1 - confirmed_decline_pct / 100) * (1 - annual_decline_pct / 100))
            as chained_decline_pct
    from inputs
),
official as (
    select
        *,
        coalesce(chained_decline_pct, direct_decline_pct) as decline_pct
    from chained
),
points as (
    select
        *,
        annual_max * completion_rate(annual_decline_pct, annual_target_pct) as annual_points,
        cumulative_max * completion_rate(decline_pct, expected_decline_pct) as cumulative_points,
        not reaches(annual_decline_pct, annual_target_pct) as annual_missed,
        not reaches(decline_pct, expected_decline_pct) as cumulative_missed
    from official
),
scored as (
    select
        *,
        (annual_veto and annual_missed) or (cumulative_veto and cumulative_missed) as vetoed,
        round(annual_points + cumulative_points, 2) as target_points,
        round(annual_points + cumulative_points, 2) + measures_score as total_points
    from points
),
margins as (
    select
        *,
        finite(decline_pct - threshold_pct) as margin_pp,
        positive(
            case
                when chained_decline_pct is null then base_intensity_t_per_10k_yuan
                else intensity_t_per_10k_yuan / positive(1 - decline_pct / 100)
            end * (1 - threshold_pct / 100)
        ) as threshold_intensity
    from (
        select
            *,
            case when assessment_year = end_year then target_pct else expected_decline_pct end
                as threshold_pct
        from scored
    )
),
graded as (
    select
        s.*,
        (
            select t.grade
            from stg_grade_thresholds as t
            where t.rules_version = s.rules_version and s.total_points >= t.min_total_score
            order by t.min_total_score desc
            limit 1
        ) as score_grade,
        -- intensity = co2_mt × 100 / GDP (亿元), so CO2 at an intensity = I × GDP / 100
        finite(s.threshold_intensity * s.gdp_const_100m_yuan / 100 - s.co2_mt)
            as margin_co2_mt,
        finite(100 * (1 - s.intensity_t_per_10k_yuan / s.threshold_intensity))
            as margin_gdp_pct
    from margins as s
)
select
    plan_id,
    region_code,
    assessment_year,
    assessment_year = end_year as end_of_plan,
    target_pct,
    annual_target_pct,
    annual_target_basis,
    annual_decline_pct,
    expected_decline_pct,
    decline_pct as cumulative_decline_pct,
    direct_decline_pct as cumulative_decline_direct_pct,
    chained_decline_pct as cumulative_decline_chained_pct,
    chained_decline_pct - direct_decline_pct as chaining_difference_pct,
    -- max(D, 0) / T; a case, not greatest(), which would turn a null decline into 0
    100 * case when decline_pct < 0 then 0 else decline_pct end / target_pct as completion_pct,
    case
        when insufficient then 'insufficient data'
        when target_pct is null then 'no target'
        when assessment_year = end_year and reaches(decline_pct, target_pct) then 'met'
        when assessment_year = end_year then 'missed'
        when cumulative_missed then 'behind'
        else 'on schedule'
    end as status,
    case when assessment_year = end_year then reaches(decline_pct, target_pct) end
        as target_achieved,
    round(annual_points, 2) as annual_target_score,
    round(cumulative_points, 2) as cumulative_target_score,
    target_points as target_score,
    annual_max + cumulative_max as target_score_max,
    measures_score,
    measures_max as measures_score_max,
    total_points as total_score,
    case
        when insufficient then 'insufficient data'
        when target_pct is null then 'not assessed'
        when vetoed then 'fail'
        when measures_score is null then 'provisional'
        else score_grade
    end as grade,
    coalesce(not insufficient and not vetoed and measures_score is null, false)
        as grade_is_provisional,
    vetoed as veto,
    rules_version,
    margin_pp,
    case when margin_pp is not null then margin_co2_mt end as margin_co2_mt,
    case when margin_pp is not null then margin_gdp_pct end as margin_gdp_pct,
    -- not published: what int_assessment_notes needs besides the published columns
    threshold_pct,
    annual_missed as annual_target_missed,
    cumulative_missed as cumulative_target_missed,
    data_gaps
from graded
order by plan_id, region_code, assessment_year
