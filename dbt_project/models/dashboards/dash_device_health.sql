{#- Each device's health on its latest day in gold: battery, uptime and missing readings. -#}
with health as (
    select * from {{ ref('fact_device_health_day') }}
    where {{ apartment_rows_visible('apartment_key') }}
),
latest as (
    select distinct on (device_key) *
    from health
    order by device_key asc, date_key desc
),
devices as (
    select * from {{ ref('dim_device') }}
),
rooms as (
    select * from {{ ref('dim_room') }}
),
days as (
    select * from {{ ref('dim_date') }}
),
apartments as (
    select * from {{ ref('dim_apartment') }}
)
select
    days.date,
    latest.apartment_key,
    apartments.apartment_id,
    rooms.room_name,
    devices.device_id,
    devices.sensor_type,
    latest.battery_min_pct,
    latest.uptime_pct,
    latest.missing_readings
from latest
inner join devices on latest.device_key = devices.device_key
inner join rooms on latest.room_key = rooms.room_key
inner join days on latest.date_key = days.date_key
inner join apartments on latest.apartment_key = apartments.apartment_key
