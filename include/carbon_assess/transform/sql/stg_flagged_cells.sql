-- The raw cells input validation flagged with a warning (validate.sql_engine writes them beside
-- the results; reference/verdict_evidence_rules.csv exempts the documented blank-value and
-- rounding policies), one row per cell and rule: the evidence of provisional verdicts.
-- materialized: view
select kind, region_code, year, variable, fuel, source_file, source_row, source_column, rule,
    description
from raw_flagged_cells
