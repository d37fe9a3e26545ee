-- Roll-up check: where a unit and its GB/T 2260 children both have figures, per year, the sum
-- of the children against the unit's own figure (the unit keeps its own figures; nothing here
-- replaces them). Children are the units of dim_region whose parent_code is the unit (a
-- province's prefectures, and the districts and counties it administers directly; a
-- prefecture's counties); declared units (parks, zones) are parts of a unit, not a partition of
-- it, and never enter a sum. Only children with complete data (a CO2 figure) enter the sums;
-- children_in_sum against children_expected says whether the sum covers the whole parent, and
-- only a complete sum can warn:
--   gap_pct = 100 × (children's sum / parent's own figure − 1), for CO2, fossil energy, GDP
--   (current prices) and population;
--   exceeds_tolerance = complete and any |gap_pct| > warn_above_pct (rollup_tolerance.csv).
-- Worked example (tests/test_regions.py): 新余市 (360500) reports 4.7 Mt CO2, its two counties
-- 渝水区 (360502) 3.0 Mt and 分宜县 (360521) 1.5 Mt: sum 4.5 Mt, gap 100 × (4.5 / 4.7 − 1) =
-- −4.2553 %, within 5 %: no warning.
with tolerance as (
    select tolerance_version, warn_above_pct from stg_rollup_tolerance
),
expected as (
    select parent_code, count(*) as children_expected
    from dim_region
    where gb_2260 and parent_code is not null
    group by parent_code
),
children as (
    select
        r.parent_code,
        g.year,
        count(g.co2_mt) as children_in_sum,
        exact_sum(g.co2_mt) as co2_mt,
        exact_sum(case when g.co2_mt is not null then g.energy_10k_tce end) as energy_10k_tce,
        exact_sum(case when g.co2_mt is not null then g.gdp_current_100m_yuan end) as gdp_100m_yuan,
        exact_sum(case when g.co2_mt is not null then g.population_10k end) as population_10k
    from int_geo_year as g
    join dim_region as r using (region_code)
    where r.gb_2260 and r.parent_code is not null
    group by r.parent_code, g.year
),
compared as (
    select
        p.region_code,
        pr.region_level,
        p.year,
        p.co2_mt as own_co2_mt,
        c.co2_mt as children_sum_co2_mt,
        finite(100 * (c.co2_mt / p.co2_mt - 1)) as co2_gap_pct,
        p.energy_10k_tce as own_energy_10k_tce,
        c.energy_10k_tce as children_sum_energy_10k_tce,
        finite(100 * (c.energy_10k_tce / p.energy_10k_tce - 1)) as energy_gap_pct,
        p.gdp_current_100m_yuan as own_gdp_100m_yuan,
        c.gdp_100m_yuan as children_sum_gdp_100m_yuan,
        finite(100 * (c.gdp_100m_yuan / p.gdp_current_100m_yuan - 1)) as gdp_gap_pct,
        p.population_10k as own_population_10k,
        c.population_10k as children_sum_population_10k,
        finite(100 * (c.population_10k / p.population_10k - 1)) as population_gap_pct,
        c.children_in_sum,
        e.children_expected,
        c.children_in_sum = e.children_expected as complete
    from int_geo_year as p
    join dim_region as pr using (region_code)
    join children as c on c.parent_code = p.region_code and c.year = p.year
    join expected as e on e.parent_code = p.region_code
    where p.co2_mt is not null and c.children_in_sum > 0
)
select
    c.*,
    c.complete and greatest(abs(c.co2_gap_pct), abs(c.energy_gap_pct), abs(c.gdp_gap_pct),
        abs(c.population_gap_pct)) > t.warn_above_pct as exceeds_tolerance,
    t.warn_above_pct,
    t.tolerance_version
from compared as c
cross join tolerance as t
order by c.region_code, c.year
