-- Results the authorities published (the file of $CARBON_OFFICIAL_RESULTS, loaded as source
-- `official_results`, typed here): grades of the 2016 assessment of all 31 provinces, national
-- declines of the 12th and 13th FYP. Empty when no file is given.
select
    plan as plan_id,
    province_code,
    cast(assessment_year as bigint) as assessment_year,
    province as province_zh,
    nullif(official_grade, '') as official_grade,
    cast(nullif(official_decline_pct, '') as double) as official_decline_pct,
    source
from official_results
