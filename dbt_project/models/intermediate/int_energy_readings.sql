{{ config(tags=['daily']) }}
{#- Energy devices (plugs with a cumulative Wh counter, the house meter with power only) per minute, over the
    run's sensor span (the window and var('edge_minutes') either side of it), and for each plug the
    var('edge_readings') counter readings nearest outside the span, however old or late, when the span holds fewer
    beyond the window: a counter's previous good reading may lie days back (a gap), and the readings after a
    window's last ones decide whether they were glitches and how a rise spreads back into the window. A day's
    build thus sees what a range build sees around its minutes. Only the power and counter fields are read. Keyed
    by the star's surrogate keys, so later sorts and windows compare integers. -#}
{%- set edge_readings = var('edge_readings') -%}
with span as (
    select apartment, room, sensor_id, sensor_type, field, value, is_outlier, minute_utc, partition_date
    from {{ ref('stg_sensor_events') }}
    where {{ in_sensor_span() }}
      and sensor_type in ('plug', 'consumption') and field in ('power', 'total_power', 'total')
),
margins as (  -- counter minutes of each plug in the span before and after the window
    select apartment, sensor_id,
           count(distinct minute_utc) filter (where {{ before_window() }}) as before_minutes,
           count(distinct minute_utc) filter (where partition_date >= date '{{ var("max_date") }}') as after_minutes
    from span
    where field = 'total'
    group by apartment, sensor_id
),
plugs as (
    select sensors.apartment, sensors.room, sensors.sensor_id,
           coalesce(margins.before_minutes, 0) as before_minutes, coalesce(margins.after_minutes, 0) as after_minutes
    from {{ ref('int_sensors') }} as sensors
    left join margins using (apartment, sensor_id)
    where sensors.sensor_type = 'plug'
),
edges as (
    select plugs.apartment, plugs.room, plugs.sensor_id, earlier.minute_utc, earlier.value
    from plugs
    cross join lateral (
        select events.minute_utc, events.value from {{ ref('stg_sensor_events') }} as events
        where events.apartment = plugs.apartment and events.sensor_id = plugs.sensor_id and events.field = 'total'
          and {{ before_sensor_span('events.') }} and events.value >= 0
        order by events.reading_at desc
        limit {{ edge_readings }}
    ) as earlier
    where plugs.before_minutes < {{ edge_readings }}
    union all
    select plugs.apartment, plugs.room, plugs.sensor_id, later.minute_utc, later.value
    from plugs
    cross join lateral (
        select events.minute_utc, events.value from {{ ref('stg_sensor_events') }} as events
        where events.apartment = plugs.apartment and events.sensor_id = plugs.sensor_id and events.field = 'total'
          and {{ after_sensor_span('events.') }} and events.value >= 0
        order by events.reading_at asc
        limit {{ edge_readings }}
    ) as later
    where plugs.after_minutes < {{ edge_readings }}
),
readings as (
    select apartment, room, sensor_id, sensor_type, field, value, is_outlier, minute_utc from span
    union all
    select apartment, room, sensor_id, 'plug' as sensor_type, 'total' as field, value, false as is_outlier, minute_utc
    from edges
)
select
    {{ surrogate_key(['apartment', 'sensor_id']) }} as device_key,
    {{ surrogate_key(['apartment', 'room']) }} as room_key,
    {{ surrogate_key(['apartment']) }} as apartment_key,
    sensor_type,
    minute_utc,
    max(value) filter (where field in ('power', 'total_power')) as power_w,
    max(value) filter (where field = 'total') as counter_wh,
    coalesce(bool_or(is_outlier) filter (where field in ('power', 'total_power')), false) as power_is_outlier
from readings
group by apartment, room, sensor_id, sensor_type, minute_utc
