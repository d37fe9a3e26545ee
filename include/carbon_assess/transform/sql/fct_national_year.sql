-- The nation per year, computed from the national files (never as a sum of provinces): CO2 by
-- the run's method, fossil energy, GDP, GDP index, population. Empty without national files.
select * exclude (region_code, assumed_zero_fuels, net_electricity_import_100m_kwh,
                  co2_electricity_trade_mt)
from int_geo_year
where region_code = '000000'
