-- Reconciliation, over the run's window, recomputed from silver: every reading of an environment sensor filed on
-- a day of the window lands in fact_environment_minute on its minute's local date — a reading more than a day
-- away from its file's day can land in no day's build and fails here — and each room-minute of the window has
-- the readings and the mean temperature (outliers left out) that silver holds for it.
{{ config(tags=['daily']) }}
with readings as (
    select apartment, room, minute_utc, partition_date, {{ local_date('minute_utc') }} as local_date, field, value,
           is_outlier, sensor_type
    from {{ ref('stg_sensor_events') }}
    where {{ in_window('partition_date', days_before=1, days_after=1) }}
      and sensor_type in ('meteo', 'humidity', 'door', 'window')
),
stray as (
    select {{ surrogate_key(['apartment', 'room']) }} as room_key, {{ minute_key('minute_utc') }} as datetime_key,
           'filed on ' || partition_date || ', a reading of ' || local_date as problem
    from readings
    where {{ in_window('partition_date') }} and abs(local_date - partition_date) > 1
),
silver as (
    select {{ surrogate_key(['apartment', 'room']) }} as room_key, {{ minute_key('minute_utc') }} as datetime_key,
           count(*) as readings,
           avg(value) filter (where not is_outlier and field in ('temperature_c', 'temperature')) as temperature_c
    from readings
    where {{ in_window('local_date') }}
    group by apartment, room, minute_utc
),
gold as (
    select room_key, datetime_key, readings, temperature_c
    from {{ ref('fact_environment_minute') }}
    where {{ date_key_in_window() }}
)
select room_key, datetime_key, problem from stray
union all
select coalesce(silver.room_key, gold.room_key), coalesce(silver.datetime_key, gold.datetime_key),
       'silver ' || coalesce(silver.readings::text, 'none') || ' readings, ' || coalesce(silver.temperature_c::text, '-')
       || ' C; gold ' || coalesce(gold.readings::text, 'none') || ', ' || coalesce(gold.temperature_c::text, '-') || ' C'
from silver
full join gold using (room_key, datetime_key)
where silver.readings is distinct from gold.readings
   or abs(silver.temperature_c - gold.temperature_c) > 1e-9
   or (silver.temperature_c is null) <> (gold.temperature_c is null)
