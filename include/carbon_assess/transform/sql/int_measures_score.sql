-- The assessors' points for the tasks-and-measures part, one row per sub-indicator, with the
-- sub-indicator's part and maximum from reference/measures_indicators.csv.
select
    s.plan_id,
    s.region_code,
    s.assessment_year,
    m.part,
    s.indicator,
    m.indicator_zh,
    s.points,
    m.max_points,
    s.note,
    s.source_file,
    s.source_row
from stg_measures_scores as s
join stg_measures_indicators as m on m.plan_id = s.plan_id and m.indicator = s.indicator
order by plan_id, region_code, assessment_year, indicator
