-- Results the authorities published (reference/official_assessment_results.csv, typed): grades
-- of the 2016 assessment of all 31 provinces, national declines of the 12th and 13th FYP.
select
    plan as plan_id,
    province_code,
    cast(assessment_year as bigint) as assessment_year,
    province as province_zh,
    nullif(official_grade, '') as official_grade,
    cast(nullif(official_decline_pct, '') as double) as official_decline_pct,
    source
from ref_official_assessment_results
