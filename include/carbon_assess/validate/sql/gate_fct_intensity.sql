-- Output gate on fct_intensity: the flags of the `sql` tests of transform/sql/fct_intensity.yml
-- (validate/output_suites.py adds the generic tests' columns: finite flags, decides_verdict),
-- read from compute.duckdb after the assess stage, before anything is published.
--   cumulative_ratio_ok     a cumulative decline is 100 × (1 − I(t)/I(B)), I(B) the intensity of
--                           the same plan and province in the base year (years_into_plan = 0)
--   annual_ratio_ok         an annual decline is 100 × (1 − I(t)/I(t − 1))
-- "Is" means equal within the one tolerance of the macro reaches (1e-9 pp) both ways; a blank
-- decline passes (blank declines are judged in the assessment: insufficient data), a decline
-- whose ratio cannot be formed (no base-year or previous-year intensity) fails.
with ratios as (
    select
        *,
        max(case when years_into_plan = 0 then intensity_t_per_10k_yuan end)
            over (partition by plan_id, region_code) as base_intensity,
        case when lag(year) over by_year = year - 1
            then lag(intensity_t_per_10k_yuan) over by_year end as previous_intensity
    from fct_intensity
    window by_year as (partition by plan_id, region_code order by year)
),
expected as (
    select
        *,
        100 * (1 - intensity_t_per_10k_yuan / base_intensity) as cumulative_from_ratio,
        100 * (1 - intensity_t_per_10k_yuan / previous_intensity) as annual_from_ratio
    from ratios
)
select
    *,
    cumulative_decline_pct is null or coalesce(
        isfinite(cumulative_decline_pct)
        and reaches(cumulative_decline_pct, cumulative_from_ratio)
        and reaches(cumulative_from_ratio, cumulative_decline_pct), false
    ) as cumulative_ratio_ok,
    'intensity ' || coalesce(format('{:.6g}', intensity_t_per_10k_yuan), 'blank')
        || ', base year ' || coalesce(format('{:.6g}', base_intensity), 'blank')
        || ': 100 × (1 − ratio) = ' || coalesce(format('{:.6g}', cumulative_from_ratio), 'blank')
        as cumulative_ratio_note,
    annual_decline_pct is null or coalesce(
        isfinite(annual_decline_pct)
        and reaches(annual_decline_pct, annual_from_ratio)
        and reaches(annual_from_ratio, annual_decline_pct), false
    ) as annual_ratio_ok,
    'intensity ' || coalesce(format('{:.6g}', intensity_t_per_10k_yuan), 'blank')
        || ', previous year ' || coalesce(format('{:.6g}', previous_intensity), 'blank')
        || ': 100 × (1 − ratio) = ' || coalesce(format('{:.6g}', annual_from_ratio), 'blank')
        as annual_ratio_note
from expected
