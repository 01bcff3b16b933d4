{#- Every physical sensor (silver sensor_id) with its room and type, the first and last day it reported, and
    its keys in the star. -#}
with sensors as (
    select
        apartment,
        room,
        sensor_type,
        sensor_id,
        min(partition_date) as first_day,
        max(partition_date) as last_day,
        bool_or(has_battery) as has_battery,
        bool_or(has_counter) as has_counter
    from {{ ref('stg_sensor_days') }}
    group by apartment, room, sensor_type, sensor_id
)
select
    *,
    {{ surrogate_key(['apartment', 'sensor_id']) }} as device_key,
    {{ surrogate_key(['apartment', 'room']) }} as room_key,
    {{ surrogate_key(['apartment']) }} as apartment_key
from sensors
