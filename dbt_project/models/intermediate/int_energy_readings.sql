{{ config(tags=['daily']) }}
{#- Energy devices (plugs with a cumulative Wh counter, the house meter with power only) per minute, over the
    run's window, the day before it and the day after it: a counter's previous reading may lie in the previous
    day, and the readings after a day's last ones decide whether they were glitches and how a rise across
    midnight spreads back into the day. Keyed by
    the star's surrogate keys, so later sorts and windows compare integers, not text. -#}
select
    {{ surrogate_key(['apartment', 'sensor_id']) }} as device_key,
    {{ surrogate_key(['apartment', 'room']) }} as room_key,
    {{ surrogate_key(['apartment']) }} as apartment_key,
    sensor_type,
    minute_utc,
    max(value) filter (where field in ('power', 'total_power')) as power_w,
    max(value) filter (where field = 'total') as counter_wh,
    coalesce(bool_or(is_outlier) filter (where field in ('power', 'total_power')), false) as power_is_outlier
from {{ ref('stg_sensor_events') }}
where {{ in_window('partition_date', days_before=1, days_after=1) }}
  and sensor_type in ('plug', 'consumption')
group by apartment, room, sensor_id, sensor_type, minute_utc
