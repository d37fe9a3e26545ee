-- Energy activity after the rounding-noise rule and the blank-value policy of DESIGN.md §3: the
-- cells of stg_energy as reported, each cell in int_energy_adjustments as the models set it
-- (noise taken as 0; a blank interpolated, taken as 0, or left missing). A view: at county scale
-- this is 50M rows, and only the adjusted cells are stored. Without the lineage columns (read
-- back from stg_energy where published: fct_energy_activity).
-- materialized: view
select
    e.region_code,
    e.year,
    e.flow,
    e.fuel,
    case when a.region_code is null then e.quantity else a.quantity end as quantity,
    e.unit,
    coalesce(a.value_status, 'reported') as value_status,
    coalesce(a.imputed, false) as imputed,
    coalesce(a.noise_zeroed, false) as noise_zeroed
from stg_energy as e
left join int_energy_adjustments as a using (region_code, year, flow, fuel)
