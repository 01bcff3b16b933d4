{{ config(materialized='incremental', incremental_strategy='append', tags=['daily'],
          pre_hook=["set work_mem = '256MB'", "{{ delete_window(this, minute_key_column='datetime_key') }}"],
          indexes=[{'columns': ['date_key']}]) }}
{#- Indoor climate per room and minute, on the local date of the minute (a file of the day before or after may
    hold a reading of the window: the sensor span is read). Means leave outliers out (is_anomaly flags them); window and
    door flags are false, not null, when the room's sensor reports closed. -#}
-- depends_on: {{ ref('dim_date') }}, {{ ref('dim_datetime') }}, {{ ref('dim_room') }}  (its relationship tests: built first)
with readings as (
    select * from {{ ref('stg_sensor_events') }}
    where {{ in_sensor_span() }}
      and sensor_type in ('meteo', 'humidity', 'door', 'window')
)
select
    {{ minute_key('minute_utc') }} as datetime_key,
    {{ date_key(local_date('minute_utc')) }} as date_key,
    {{ surrogate_key(['apartment', 'room']) }} as room_key,
    {{ surrogate_key(['apartment']) }} as apartment_key,
    avg(value) filter (where not is_outlier and ((sensor_type = 'meteo' and field = 'temperature_c')
                                                 or (sensor_type = 'humidity' and field = 'temperature'))) as temperature_c,
    avg(value) filter (where not is_outlier and ((sensor_type = 'meteo' and field = 'humidity_pct')
                                                 or (sensor_type = 'humidity' and field = 'humidity'))) as humidity_pct,
    avg(value) filter (where not is_outlier and field = 'co2_ppm') as co2_ppm,
    avg(value) filter (where not is_outlier and field = 'noise_db') as noise_db,
    avg(value) filter (where not is_outlier and field = 'pressure_hpa') as pressure_hpa,
    bool_or(value = 1) filter (where sensor_type = 'window' and field = 'open') as window_open_flag,
    bool_or(value = 1) filter (where sensor_type = 'door' and field = 'open') as door_open_flag,
    bool_or(is_outlier) as is_anomaly,
    count(*)::integer as readings
from readings
where {{ in_built_minutes('minute_utc') }}
group by apartment, room, minute_utc
