-- Carbon intensity per plan, geography (provinces; the nation as 000000) and year from the
-- plan's base year B to its end year E:
--   GDP_B(t) = GDP_current(B) × Π_{k=B+1..t} index_k / 100      (constant prices of year B)
--   I(t)     = CO2(t) / GDP_B(t)   in t CO2 per 10,000 yuan = co2_mt × 1e6 / (GDP 亿元 × 1e4)
--   d(t)     = 1 − I(t)/I(B);  annual decline 1 − I(t)/I(t−1)
--   e(t)     = 1 − (1 − T)^((t − B)/n), n = E − B the plan's length (dim_plan; macro even_pace_pct);
--   completion = max(d, 0) / T;  on schedule when d ≥ e (macro reaches, one tolerance)
--   energy intensity = fossil energy (10,000 tce) / GDP_B(t) (亿元) = tce per 10,000 yuan
-- No NaN or infinity leaves this model: an intensity needs a positive finite GDP_B(t) and a
-- finite CO2, a decline a positive base or previous-year intensity, and any figure that still
-- is not finite is null (int_target_assessment then reports 'insufficient data', the reason
-- taken from int_geo_year.data_gaps). Validation refuses the inputs that would cause it (zero
-- GDP, GDP index or coal; DESIGN.md §3); this is the defence in depth.
with plan_years as (
    select p.plan_id, p.base_year, p.end_year - p.base_year as plan_length, py.region_code,
        py.year
    from dim_plan as p
    join int_geo_year as py on py.year between p.base_year and p.end_year
),
chain as (
    select
        g.plan_id,
        g.region_code,
        g.year,
        g.base_year,
        g.plan_length,
        count(k.gdp_index_prev_year) as indices_found,
        product(k.gdp_index_prev_year / 100.0 order by k.year) as index_factor
    from plan_years as g
    left join int_geo_year as k
        on k.region_code = g.region_code
        and k.year > g.base_year
        and k.year <= g.year
    group by all
),
constant_gdp as (
    select
        c.plan_id,
        c.region_code,
        c.year,
        c.base_year,
        c.plan_length,
        case
            when not (isfinite(b.gdp_current_100m_yuan) and b.gdp_current_100m_yuan > 0) then null
            when c.year = c.base_year then b.gdp_current_100m_yuan
            when c.indices_found = c.year - c.base_year
                and isfinite(c.index_factor) and c.index_factor > 0
                then b.gdp_current_100m_yuan * c.index_factor
        end as gdp_const_100m_yuan,
        py.co2_mt,
        py.energy_10k_tce
    from chain as c
    join int_geo_year as b on b.region_code = c.region_code and b.year = c.base_year
    join int_geo_year as py on py.region_code = c.region_code and py.year = c.year
),
intensity as (
    select
        *,
        finite(co2_mt * 100.0 / gdp_const_100m_yuan) as intensity_t_per_10k_yuan,
        finite(energy_10k_tce / gdp_const_100m_yuan) as energy_intensity_tce_per_10k_yuan
    from constant_gdp
),
declines as (
    select
        i.*,
        finite(1 - i.intensity_t_per_10k_yuan / positive(lag(i.intensity_t_per_10k_yuan) over (
            partition by i.plan_id, i.region_code order by i.year
        ))) as annual_decline,
        finite(1 - i.intensity_t_per_10k_yuan / positive(first_value(i.intensity_t_per_10k_yuan)
            over (partition by i.plan_id, i.region_code order by i.year)
        )) as cumulative_decline,
        t.target_pct as plan_target_pct,
        t.target_pct / 100.0 as target
    from intensity as i
    left join (
        select plan_id, region_code, target_pct from dim_target
        union all
        select plan_id, '000000', national_target_pct from dim_plan
        where national_target_pct is not null
    ) as t using (plan_id, region_code)
),
percent as (
    select
        plan_id,
        region_code,
        year,
        year - base_year as years_into_plan,
        gdp_const_100m_yuan,
        co2_mt,
        intensity_t_per_10k_yuan,
        energy_10k_tce,
        energy_intensity_tce_per_10k_yuan,
        finite(co2_mt * 100.0 / energy_10k_tce) as carbon_per_energy_t_per_tce,
        100 * annual_decline as annual_decline_pct,
        100 * cumulative_decline as cumulative_decline_pct,
        100 * target as target_pct,
        even_pace_pct(plan_target_pct, year - base_year, plan_length) as expected_decline_pct,
        100 * greatest(cumulative_decline, 0) / target as completion_pct
    from declines
)
select
    *,
    reaches(cumulative_decline_pct, expected_decline_pct) as on_schedule
from percent
order by plan_id, region_code, year
