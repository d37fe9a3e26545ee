-- Provinces (GB/T 2260) with region and regional power grid. Source: reference/provinces.csv
select
    code as province_code,
    name_zh,
    short_zh,
    name_en,
    region,
    grid_region
from ref_provinces
order by province_code
