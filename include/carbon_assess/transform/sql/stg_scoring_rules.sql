-- Points per assessment part and plan, and whether missing the part is a veto
-- (reference/scoring_rules.csv, typed).
select
    rules_version,
    plan_id,
    part,
    cast(max_points as double) as max_points,
    cast(veto_if_missed as boolean) as veto_if_missed,
    rule,
    source
from ref_scoring_rules
