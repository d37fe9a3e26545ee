-- Energy activity after the blank-value policy (int_energy_activity) of every unit but the
-- nation: provinces, prefectures, counties and declared units, with the lineage of each value
-- (stg_energy: one row per key, the raw suites refuse a duplicate). province_code: macro
-- province_code_of; region_code and region_level at the end.
-- materialized: view
select
    province_code_of(r.region_level, a.region_code) as province_code,
    a.year,
    a.flow,
    a.fuel,
    a.quantity,
    a.unit,
    a.value_status,
    a.imputed,
    a.noise_zeroed,
    s.source_file,
    s.source_sha256,
    s.source_row,
    s.source_column,
    s.source_value,
    a.region_code,
    r.region_level
from int_energy_activity as a
join stg_energy as s using (region_code, year, flow, fuel)
left join dim_region as r using (region_code)
where a.region_code <> '000000'
