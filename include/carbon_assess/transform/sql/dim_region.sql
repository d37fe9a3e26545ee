-- Every unit a run can assess: the nation (000000), the GB/T 2260 units of reference/regions.csv
-- (31 provinces, 333 prefectures, 2,842 counties) and the extra units a units sheet declares
-- (industrial parks, development zones), with level, parent and the province each lies in.
-- A declared unit's province is its parent's, followed up the chain of declared parents
-- (recursive; a cycle or an unknown parent leaves it null, and validation refuses both).
-- gb_2260: the unit is in the code list; those units partition their parent (a county lies in
-- one prefecture), declared units do not (a park is a part of its county), so only they enter
-- the roll-up sums of fct_region_reconciliation.
with recursive declared as (
    select
        region_code as code, name_zh as name, region_level as level, parent_code as parent,
        source_file, source_row
    from stg_units
),
chain(code, ancestor, depth) as (
    select code, parent, 1 from declared
    union all
    select c.code, d.parent, c.depth + 1
    from chain as c
    join declared as d on d.code = c.ancestor
    where c.depth < 32
),
declared_province as (
    select c.code, min(r.province_code) as province_code
    from chain as c
    join ref_regions as r on r.code = c.ancestor
    group by c.code
)
select
    '000000' as region_code,
    '全国' as name_zh,
    'nation' as region_level,
    cast(null as varchar) as parent_code,
    cast(null as varchar) as province_code,
    false as gb_2260,
    'national files' as source
union all
select
    code,
    name,
    level,
    nullif(parent_code, ''),
    province_code,
    true,
    'GB/T 2260 (reference/regions.csv)'
from ref_regions
union all
select
    d.code,
    d.name,
    d.level,
    d.parent,
    p.province_code,
    false,
    format('units sheet {} row {}', d.source_file, d.source_row)
from declared as d
left join declared_province as p using (code)
order by region_code
