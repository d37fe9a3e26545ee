-- Raw validation in DuckDB (validate/sql_engine.py): `no_fuel_data` notes (blanks.energy_notes):
-- a province without any fossil-fuel figure (Tibet in the NBS tables), noted at its first cell by
-- year and fuel.
select
    'energy_consumption' as kind,
    first(cells.__idx order by cells.year, cells.fuel, cells.__idx) as __idx,
    'no_fuel_data' as col,
    chk_label(cells.region_code) || ': no fossil-fuel consumption reported in any year ('
        || chk_span(min(cells.year), max(cells.year))
        || '); its province-years are insufficient data downstream' as note
from chk_energy_cells as cells
where cells.region_code is not null
    and not exists (
        select 1 from chk_with_fuel where chk_with_fuel.region_code = cells.region_code
    )
group by cells.region_code
