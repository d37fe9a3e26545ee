-- Additive LMDI decomposition of the change in carbon intensity from the plan's base year B to
-- each year t:  I = CO2/GDP = (E/GDP) × (CO2/E) = energy intensity × carbon content of energy.
--   ΔI = I_t − I_B = L(I_t, I_B) · ln(EI_t/EI_B) + L(I_t, I_B) · ln(CF_t/CF_B)
--   L(a, b) = (a − b) / (ln a − ln b)   (= a when a = b)
-- The two effects sum exactly to ΔI because ln(I_t/I_B) = ln(EI_t/EI_B) + ln(CF_t/CF_B).
-- Needs positive I, EI, CF in both years; otherwise the row carries nulls.
with pairs as (
    select
        t.plan_id,
        t.province_code,
        t.region_code,
        t.region_level,
        b.year as base_year,
        t.year,
        b.intensity_t_per_10k_yuan as i0,
        t.intensity_t_per_10k_yuan as i1,
        b.energy_intensity_tce_per_10k_yuan as ei0,
        t.energy_intensity_tce_per_10k_yuan as ei1,
        b.carbon_per_energy_t_per_tce as cf0,
        t.carbon_per_energy_t_per_tce as cf1
    from fct_intensity as t
    join fct_intensity as b
        on b.plan_id = t.plan_id and b.region_code = t.region_code and b.years_into_plan = 0
    where t.years_into_plan > 0
),
weighted as (
    select
        *,
        case
            when least(i0, i1, ei0, ei1, cf0, cf1) <= 0 then null
            when abs(i1 - i0) < 1e-12 then i1
            else (i1 - i0) / (ln(i1) - ln(i0))
        end as log_mean
    from pairs
)
select
    plan_id,
    province_code,
    base_year,
    year,
    i0 as intensity_base_t_per_10k_yuan,
    i1 as intensity_t_per_10k_yuan,
    i1 - i0 as intensity_change_t_per_10k_yuan,
    log_mean * ln(ei1 / ei0) as energy_intensity_effect_t_per_10k_yuan,
    log_mean * ln(cf1 / cf0) as carbon_content_effect_t_per_10k_yuan,
    100 * log_mean * ln(ei1 / ei0) / nullif(i1 - i0, 0) as energy_intensity_share_pct,
    100 * log_mean * ln(cf1 / cf0) / nullif(i1 - i0, 0) as carbon_content_share_pct,
    region_code,
    region_level
from weighted
order by plan_id, region_code, year
