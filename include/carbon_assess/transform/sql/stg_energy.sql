-- Energy consumption and production observations, one row per province, year, flow and fuel.
-- Rounding noise (0 > x > -negative_noise, 1e-6: transform.NEGATIVE_NOISE; e.g. -1e-12) is set to
-- 0 here; the validation suite warns about it.
-- materialized: view
select
    region_code,
    year,
    variable as flow,
    fuel,
    case when value < 0 and value > -getvariable('negative_noise') then 0.0 else value end
        as quantity,
    value is not null and value < 0 and value > -getvariable('negative_noise') as noise_zeroed,
    unit,
    source_file,
    source_sha256,
    source_row,
    source_column,
    source_value
from raw_energy

