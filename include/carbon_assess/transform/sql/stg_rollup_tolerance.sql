-- When the roll-up check warns (reference/rollup_tolerance.csv, typed; newest version).
select
    tolerance_version,
    cast(warn_above_pct as double) as warn_above_pct
from ref_rollup_tolerance
order by tolerance_version desc
limit 1
