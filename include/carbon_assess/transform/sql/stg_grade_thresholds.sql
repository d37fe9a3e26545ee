-- Grade cut-offs per rules version (reference/grade_thresholds.csv, typed).
select
    rules_version,
    grade,
    grade_zh,
    cast(min_total_score as double) as min_total_score,
    source
from ref_grade_thresholds
