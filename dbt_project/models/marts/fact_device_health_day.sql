{{ config(materialized='incremental', incremental_strategy='append', tags=['daily'],
          pre_hook="{{ delete_window(this) }}") }}
{#- Health of every device (not only battery ones) per day of its files (silver's device registry, counted when
    a day is loaded: the local date of the readings' minutes unless SENSOR_TIMEZONE differs from TIMEZONE):
    readings expected (the minutes of that local day: 1,440, or 1,380 / 1,500 on DST days) and received, uptime, battery where
    there is one, and errors of the reference log mapped to the devices of their type (the message names the
    type: plug, door, window, motion, meteo, humidity, consumption) in the building's apartment that day. -#}
with received as (
    select apartment, room, sensor_type, sensor_id, partition_date, minutes as received_readings,
           battery_min_pct, battery_avg_pct
    from {{ ref('stg_sensor_days') }}
    where {{ in_window('partition_date') }}
),
apartment_days as (select distinct apartment, partition_date from received),
known_devices as (
    select apartment, room, sensor_type, sensor_id, first_day from {{ ref('int_sensors') }}
),
devices as (
    select distinct apartment_days.apartment, known_devices.room, known_devices.sensor_type,
           known_devices.sensor_id, apartment_days.partition_date
    from apartment_days
    join known_devices on known_devices.apartment = apartment_days.apartment
                      and known_devices.first_day <= apartment_days.partition_date
    union
    select apartment, room, sensor_type, sensor_id, partition_date from received
),
errors as (
    select apartments.apartment_id as apartment, errors.error_date,
           case when errors.error_message ilike '%plug%' then 'plug'
                when errors.error_message ilike '%door%' then 'door'
                when errors.error_message ilike '%window%' then 'window'
                when errors.error_message ilike '%motion%' then 'motion'
                when errors.error_message ilike '%meteo%' then 'meteo'
                when errors.error_message ilike '%humidity%' then 'humidity'
                when errors.error_message ilike '%consumption%' or errors.error_message ilike '%meter%' then 'consumption'
           end as sensor_type,
           count(*) as error_count
    from {{ ref('stg_sensor_errors') }} as errors
    join {{ ref('dim_apartment') }} as apartments on apartments.building_id = errors.building_id
    where {{ in_window('errors.error_date') }}
    group by 1, 2, 3
),
days as (select date, minutes_in_day from {{ ref('dim_date') }})
select
    {{ date_key('devices.partition_date') }} as date_key,
    {{ surrogate_key(['devices.apartment', 'devices.sensor_id']) }} as device_key,
    {{ surrogate_key(['devices.apartment', 'devices.room']) }} as room_key,
    {{ surrogate_key(['devices.apartment']) }} as apartment_key,
    days.minutes_in_day as expected_readings,
    coalesce(received.received_readings, 0)::integer as received_readings,
    greatest(days.minutes_in_day - coalesce(received.received_readings, 0), 0)::integer as missing_readings,
    round(least(100.0, 100.0 * coalesce(received.received_readings, 0) / days.minutes_in_day), 2)::double precision
        as uptime_pct,
    received.battery_min_pct,
    received.battery_avg_pct,
    coalesce(errors.error_count, 0)::integer as error_count
from devices
join days on days.date = devices.partition_date
left join received using (apartment, sensor_id, partition_date)
left join errors on errors.apartment = devices.apartment and errors.error_date = devices.partition_date
                and errors.sensor_type = devices.sensor_type
