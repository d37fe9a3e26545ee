-- Emission accounting methods a run can choose, and the default (reference/methods.csv, typed).
select
    method,
    cast("default" as boolean) as is_default,
    description,
    source
from ref_methods
