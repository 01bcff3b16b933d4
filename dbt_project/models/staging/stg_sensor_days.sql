select
    apartment,
    room,
    sensor_type,
    sensor_id,
    partition_date,
    readings,
    minutes,
    has_battery,
    has_counter,
    battery_min as battery_min_pct,
    battery_avg as battery_avg_pct
from {{ source('silver', 'sensor_days') }}
