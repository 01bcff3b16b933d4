{#- One row per physical sensor: two windows in one room are two devices. -#}
select
    {{ surrogate_key(['apartment', 'sensor_id']) }} as device_key,
    (apartment || ':' || sensor_id)::text as device_id,
    sensor_type::text as sensor_type,
    {{ surrogate_key(['apartment', 'room']) }} as room_key,
    {{ surrogate_key(['apartment']) }} as apartment_key,
    has_battery,
    has_counter,
    first_day,
    last_day
from {{ ref('int_sensors') }}
