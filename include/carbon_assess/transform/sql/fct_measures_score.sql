-- The assessors' points for the tasks-and-measures part, one row per sub-indicator, with the
-- sub-indicator's part and maximum from reference/measures_indicators.csv.
select
    s.plan as plan_id,
    s.province as province_code,
    s.year as assessment_year,
    m.part,
    s.indicator,
    m.indicator_zh,
    s.points,
    cast(m.max_points as double) as max_points,
    nullif(s.note, '') as note,
    s.source_file,
    s.source_row
from sheet_measures as s
join ref_measures_indicators as m on m.plan_id = s.plan and m.indicator = s.indicator
order by plan_id, province_code, assessment_year, indicator
