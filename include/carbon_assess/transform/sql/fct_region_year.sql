-- One row per unit and year, every unit but the nation: provinces, prefectures, counties and
-- declared units (int_geo_year with the unit's level and parent; provinces alone:
-- fct_province_year).
-- materialized: view
select
    g.region_code,
    r.region_level,
    r.parent_code,
    g.* exclude (region_code)
from int_geo_year as g
join dim_region as r using (region_code)
where r.region_level <> 'nation'
