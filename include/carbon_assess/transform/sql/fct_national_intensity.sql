-- National carbon intensity per plan against the national target (dim_plan), from national data.
select * exclude (region_code)
from int_intensity
where region_code = '000000'
