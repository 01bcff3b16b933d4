{{ config(materialized='incremental', incremental_strategy='append', tags=['daily'],
          pre_hook=["set work_mem = '256MB'", "{{ delete_window(this, minute_key_column='datetime_key') }}"],
          indexes=[{'columns': ['date_key']}]) }}
{#- Presence per room and minute, for rooms with a motion or door sensor: presence is motion, or door activity
    (a door's state changed in that minute), never a door that merely stands open. Outlier readings count for
    nothing. Minutes belong to their local date; a file of the day before or after may hold a minute of the
    window: the sensor span is read, and each door's last state before it, however old. The occupancy forecast of
    each minute is beside it in the view presence_forecast_minute. -#}
-- depends_on: {{ ref('dim_date') }}, {{ ref('dim_datetime') }}  (its relationship tests: built first)
with span as (
    select apartment, room, sensor_type, sensor_id, minute_utc, value
    from {{ ref('stg_sensor_events') }}
    where {{ in_sensor_span() }}
      and ((sensor_type = 'motion' and field = 'motion') or (sensor_type = 'door' and field = 'open'))
      and not is_outlier
),
previous_door_states as (
    select doors.apartment, doors.room, doors.sensor_type, doors.sensor_id, previous.minute_utc, previous.value
    from {{ ref('int_sensors') }} as doors
    cross join lateral (
        select events.minute_utc, events.value from {{ ref('stg_sensor_events') }} as events
        where events.apartment = doors.apartment and events.sensor_id = doors.sensor_id and events.field = 'open'
          and not events.is_outlier and {{ before_sensor_span('events.') }}
        order by events.reading_at desc
        limit 1
    ) as previous
    where doors.sensor_type = 'door'
),
door_and_motion as (
    select * from span
    union all
    select * from previous_door_states
),
readings as (
    select
        apartment, room, sensor_type, minute_utc, value,
        coalesce(value <> lag(value) over (partition by apartment, sensor_type, sensor_id order by minute_utc), false)
        as changed
    from door_and_motion
),
minutes as (
    select
        apartment, room, minute_utc,
        sum(value) filter (where sensor_type = 'motion')::integer as motion_count,
        bool_or(value = 1) filter (where sensor_type = 'door') as door_open_flag,
        bool_or(changed) filter (where sensor_type = 'door') as door_activity_flag
    from readings
    where {{ in_built_minutes('minute_utc') }}
    group by apartment, room, minute_utc
),
presence as (
    select
        {{ minute_key('minute_utc') }} as datetime_key,
        {{ date_key(local_date('minute_utc')) }} as date_key,
        {{ surrogate_key(['apartment', 'room']) }} as room_key,
        {{ surrogate_key(['apartment']) }} as apartment_key,
        minute_utc, motion_count, door_open_flag, door_activity_flag
    from minutes
)
select
    presence.datetime_key,
    presence.date_key,
    presence.room_key,
    presence.apartment_key,
    presence.motion_count,
    presence.door_open_flag,
    presence.door_activity_flag,
    coalesce(presence.motion_count, 0) > 0 or coalesce(presence.door_activity_flag, false) as presence_flag
from presence
