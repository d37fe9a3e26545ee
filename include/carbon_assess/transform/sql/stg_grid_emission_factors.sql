-- Regional grid average CO2 factors for the electricity-trade term
-- (reference/grid_emission_factors.csv, typed).
select
    factor_version,
    grid_region,
    grid_name_zh,
    cast(kgco2_per_kwh as double) as kgco2_per_kwh,
    source
from ref_grid_emission_factors
