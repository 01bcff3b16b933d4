{{ config(materialized='view') }}
{#- One row per physical sensor: two windows in one room are two devices. A view on the device registry, so a
    sensor that appears in a new silver day is a device at once (the facts of that day refer to it). -#}
select
    device_key,
    (apartment || ':' || sensor_id)::text as device_id,
    sensor_type::text as sensor_type,
    room_key,
    apartment_key,
    has_battery,
    has_counter,
    first_day,
    last_day
from {{ ref('int_sensors') }}
where {{ apartment_rows_visible('apartment_key') }}
