-- National carbon intensity per plan against the national target (dim_plan), from national data.
select * exclude (province_code)
from int_intensity
where province_code = '000000'
