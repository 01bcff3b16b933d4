{#- The current forecast of every room and 15-minute window beside what gold measured in it: the room's mean
    plug power (W) and whether it was occupied. Its asset waits for the forecasts, so it is built once the ML
    assets created them and reads them. -#}
with forecasts as (
    select * from {{ ref('stg_forecasts') }}
    where {{ apartment_rows_visible('apartment_key') }}
),
energy as (
    select * from {{ ref('fact_energy_minute') }}
),
presence as (
    select * from {{ ref('fact_presence_minute') }}
),
devices as (
    select * from {{ ref('dim_device') }}
),
rooms as (
    select * from {{ ref('dim_room') }}
),
apartments as (
    select * from {{ ref('dim_apartment') }}
),
windows as (
    select
        forecasts.*,
        to_char(forecasts.window_start at time zone 'UTC', 'YYYYMMDDHH24MI')::bigint as window_key
    from forecasts
),
measured_power as (
    select
        energy.room_key,
        energy.datetime_key - energy.datetime_key % 100 % 15 as window_key,
        sum(energy.energy_wh) * 4 as power_w
    from energy
    inner join devices on energy.device_key = devices.device_key
    where devices.sensor_type = 'plug' and energy.datetime_key >= (select min(window_key) from windows)
    group by energy.room_key, energy.datetime_key - energy.datetime_key % 100 % 15
),
measured_presence as (
    select
        room_key,
        datetime_key - datetime_key % 100 % 15 as window_key,
        bool_or(coalesce(motion_count, 0) > 0)::integer as occupied
    from presence
    where datetime_key >= (select min(window_key) from windows)
    group by room_key, datetime_key - datetime_key % 100 % 15
)
select
    windows.target,
    windows.window_start,
    (windows.window_start at time zone '{{ var("timezone") }}') as window_local,
    {{ local_date('windows.window_start') }} as date,
    {{ local_date('windows.window_start') }} - {{ gold_today() }} as days_after_today,
    windows.issue_time,
    windows.apartment_key,
    apartments.apartment_id,
    rooms.room_name,
    windows.probability,
    windows.value as power_w_forecast,
    windows.lower_value as power_w_lower,
    windows.upper_value as power_w_upper,
    case when windows.target = 'power' then measured_power.power_w end as power_w_measured,
    case when windows.target = 'occupancy' then measured_presence.occupied end as occupied_measured
from windows
inner join rooms on windows.room_key = rooms.room_key
inner join apartments on windows.apartment_key = apartments.apartment_key
left join measured_power
    on windows.room_key = measured_power.room_key and windows.window_key = measured_power.window_key
left join measured_presence
    on windows.room_key = measured_presence.room_key and windows.window_key = measured_presence.window_key
