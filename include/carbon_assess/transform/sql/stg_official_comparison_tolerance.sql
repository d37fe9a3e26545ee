-- How close to the threshold counts as "within the margin" when the computed and the official
-- verdicts are compared (reference/official_comparison_tolerance.csv, typed; newest version).
select
    tolerance_version,
    cast(within_margin_pp as double) as within_margin_pp,
    basis
from ref_official_comparison_tolerance
order by tolerance_version desc
limit 1
