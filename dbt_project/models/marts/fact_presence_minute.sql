{{ config(materialized='incremental', incremental_strategy='append', tags=['daily'],
          pre_hook=["set work_mem = '256MB'", "{{ delete_window(this) }}"],
          post_hook="create index if not exists fact_presence_minute_date on {{ this }} (date_key)") }}
{#- Presence per room and minute, for rooms with a motion or door sensor: presence is motion or an open door
    (door activity); presence_prob is filled by the ML assets. -#}
-- depends_on: {{ ref('dim_date') }}, {{ ref('dim_datetime') }}  (its relationship tests: built first)
with readings as (
    select * from {{ ref('stg_sensor_events') }}
    where {{ in_window('partition_date') }}
      and ((sensor_type = 'motion' and field = 'motion') or (sensor_type = 'door' and field = 'open'))
),
minutes as (
    select
        apartment, room, minute_utc, partition_date,
        sum(value) filter (where sensor_type = 'motion')::integer as motion_count,
        bool_or(value = 1) filter (where sensor_type = 'door') as door_open_flag
    from readings
    group by apartment, room, minute_utc, partition_date
)
select
    {{ minute_key('minute_utc') }} as datetime_key,
    {{ date_key('partition_date') }} as date_key,
    {{ surrogate_key(['apartment', 'room']) }} as room_key,
    {{ surrogate_key(['apartment']) }} as apartment_key,
    motion_count,
    door_open_flag,
    coalesce(motion_count, 0) > 0 or coalesce(door_open_flag, false) as presence_flag,
    null::double precision as presence_prob
from minutes
