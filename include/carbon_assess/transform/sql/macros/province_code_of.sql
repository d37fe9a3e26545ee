-- province_code_of(region_level, region_code): the published `province_code` of a unit's row:
-- its code when the unit is a province, null for a prefecture, county or declared unit. The
-- tables that carry every unit keep `province_code` where it always was, so a query about
-- provinces (where province_code = '630000', a join with dim_province) reads exactly the rows it
-- read before; region_code and region_level (at the end of those tables) name every unit.
create or replace macro province_code_of(region_level, region_code) as
    case when region_level = 'province' then region_code end;
