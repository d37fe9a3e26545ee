-- Province sum vs national total, per year: provincial inventories add up to a few percent more
-- than the national one (statistical differences, interprovincial trade in fuels). Only
-- province-years with complete data enter the sum; the count says how many.
with provinces as (
    select
        year,
        count(co2_mt) as provinces_in_sum,
        exact_sum(co2_mt) as province_sum_co2_mt,
        exact_sum(energy_10k_tce) as province_sum_energy_10k_tce,
        exact_sum(case when co2_mt is not null then gdp_current_100m_yuan end) as province_sum_gdp_100m_yuan
    from int_geo_year
    join dim_region using (region_code)
    where region_level = 'province'  -- prefectures and counties are inside their provinces
    group by year
)
select
    n.year,
    n.co2_mt as national_co2_mt,
    p.province_sum_co2_mt,
    p.provinces_in_sum,
    100 * (p.province_sum_co2_mt / n.co2_mt - 1) as co2_difference_pct,
    n.energy_10k_tce as national_energy_10k_tce,
    p.province_sum_energy_10k_tce,
    n.gdp_current_100m_yuan as national_gdp_100m_yuan,
    p.province_sum_gdp_100m_yuan
from int_geo_year as n
join provinces as p using (year)
where n.region_code = '000000' and n.co2_mt is not null and p.provinces_in_sum > 0
order by n.year
