{{ config(materialized='incremental', incremental_strategy='append', tags=['daily'],
          pre_hook=["set work_mem = '256MB'", "{{ delete_window(this) }}"],
          post_hook="create index if not exists fact_presence_minute_date on {{ this }} (date_key)") }}
{#- Presence per room and minute, for rooms with a motion or door sensor: presence is motion, or door activity
    (a door's state changed in that minute), never a door that merely stands open. Outlier readings count for
    nothing. A door's previous reading may lie in the day before, which is read too. presence_prob: the latest
    occupancy forecast of the minute's 15-minute window, from the ML assets' gold.fact_prediction (read here
    when it exists, so a rebuilt day keeps its forecast; the forecast asset fills the days already built). -#}
{%- set predictions = adapter.get_relation(database=target.database, schema='gold', identifier='fact_prediction')
    if execute else none %}
-- depends_on: {{ ref('dim_date') }}, {{ ref('dim_datetime') }}  (its relationship tests: built first)
with readings as (
    select
        apartment, room, sensor_type, minute_utc, partition_date, value,
        coalesce(value <> lag(value) over (partition by apartment, sensor_type, sensor_id order by minute_utc), false)
        as changed
    from {{ ref('stg_sensor_events') }}
    where {{ in_window('partition_date', days_before=1) }}
      and ((sensor_type = 'motion' and field = 'motion') or (sensor_type = 'door' and field = 'open'))
      and not is_outlier
),
minutes as (
    select
        apartment, room, minute_utc, partition_date,
        sum(value) filter (where sensor_type = 'motion')::integer as motion_count,
        bool_or(value = 1) filter (where sensor_type = 'door') as door_open_flag,
        bool_or(changed) filter (where sensor_type = 'door') as door_activity_flag
    from readings
    where {{ in_window('partition_date') }}
    group by apartment, room, minute_utc, partition_date
),
{%- if predictions %}
forecasts as (
    select distinct on (room_key, window_start) room_key, window_start, probability
    from {{ predictions }}
    where kind = 'forecast' and target = 'occupancy'
      and window_start >= date '{{ var("min_date") }}' - 1 and window_start < date '{{ var("max_date") }}' + 1
    order by room_key, window_start, issue_time desc, written_at desc
),
{%- else %}
forecasts as (select null::bigint as room_key, null::timestamptz as window_start, null::double precision as probability),
{%- endif %}
presence as (
    select
        {{ minute_key('minute_utc') }} as datetime_key,
        {{ date_key('partition_date') }} as date_key,
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
    coalesce(presence.motion_count, 0) > 0 or coalesce(presence.door_activity_flag, false) as presence_flag,
    forecasts.probability as presence_prob
from presence
left join forecasts
    on forecasts.room_key = presence.room_key
   and forecasts.window_start = date_bin(interval '15 minutes', presence.minute_utc, timestamptz '2000-01-01 00:00:00+00')
