{#- Every physical sensor (silver sensor_id) with its room and type, and the first and last day it reported. -#}
select
    apartment,
    room,
    sensor_type,
    sensor_id,
    min(partition_date) as first_day,
    max(partition_date) as last_day,
    bool_or(field = 'battery') as has_battery,
    bool_or(field = 'total') as has_counter
from {{ ref('stg_sensor_events') }}
group by apartment, room, sensor_type, sensor_id
