-- The assessors' points for the tasks-and-measures part, one row per sub-indicator
-- (int_measures_score).
select * from int_measures_score
