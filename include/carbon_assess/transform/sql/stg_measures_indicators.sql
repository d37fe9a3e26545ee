-- Sub-indicators of the tasks-and-measures part and their maxima per plan
-- (reference/measures_indicators.csv, typed).
select
    rules_version,
    plan_id,
    part,
    indicator,
    indicator_zh,
    cast(max_points as double) as max_points,
    source
from ref_measures_indicators
