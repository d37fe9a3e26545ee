-- Results the authorities published (source `official_results`, checked row by row and loaded
-- by transform.load_official_results, typed here): by default the shipped
-- reference/official_assessment_results.csv (grades of the 2016 assessment of all 31 provinces,
-- national declines of the 12th and 13th FYP); the file of $CARBON_OFFICIAL_RESULTS instead when
-- set; empty when it says `none`.
select
    plan as plan_id,
    province_code,
    cast(assessment_year as bigint) as assessment_year,
    province as province_zh,
    nullif(official_grade, '') as official_grade,
    cast(nullif(official_decline_pct, '') as double) as official_decline_pct,
    source
from official_results
