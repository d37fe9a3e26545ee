-- completion_rate(actual_pct, target_pct): the share of a target achieved, limited to 0..1, as
-- the scoring rules apply it (reference/scoring_rules.csv: max(0; min(actual / target; 1)));
-- points = max_points × completion_rate. Null when either input is null: greatest() and least()
-- skip nulls (greatest(null, 0) = 0), which would turn a missing decline into 0 points.
create or replace macro completion_rate(actual_pct, target_pct) as
    case
        when actual_pct is not null and target_pct is not null
            then least(greatest(actual_pct / target_pct, 0), 1)
    end;
