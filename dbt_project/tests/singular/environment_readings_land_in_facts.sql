-- Reconciliation, over the run's window, recomputed from silver: every reading of an environment sensor filed on
-- a day of the window lands in fact_environment_minute on its minute's local date — a reading more than a day
-- away from its file's day can land in no day's build and fails here — and each room and local day of the window
-- has in the fact the readings silver holds for it (a day with readings and no facts fails too). Silver may grow
-- while the run builds (a live load beside it): with var('silver_snapshot'), the silver the run started from,
-- the fact must hold at least the readings silver held then and at most those it holds now. A run rebuilding the
-- fact from var('rebuild_from') compares the minutes from it on: the earlier ones are as the runs that built them
-- checked them (every new reading lies in a minute rebuilt, or its load makes the run rebuild whole days).
{{ config(tags=['daily']) }}
with readings as (
    select apartment, room, partition_date, "timestamp", {{ local_date('"timestamp"') }} as local_date,
           {{ in_silver_snapshot() }} as held_at_start
    from {{ source('silver', 'sensor_events') }}
    where {{ in_sensor_span(minute='"timestamp"') }}
      and sensor_type in ('meteo', 'humidity', 'door', 'window')
),
stray as (
    select apartment, room, partition_date, local_date, count(*) as readings
    from readings
    where {{ in_window('partition_date') }} and abs(local_date - partition_date) > 1 and held_at_start
    group by apartment, room, partition_date, local_date
),
silver as (
    select {{ surrogate_key(['apartment', 'room']) }} as room_key, {{ date_key('local_date') }} as date_key,
           count(*) filter (where held_at_start) as readings_at_start, count(*) as readings
    from readings
    where {{ in_built_minutes('"timestamp"', 'local_date') }}
    group by apartment, room, local_date
),
gold as (
    select room_key, date_key, sum(readings) as readings
    from {{ ref('fact_environment_minute') }}
    where {{ in_built_minute_keys('date_key', 'datetime_key') }}
    group by room_key, date_key
)
select
    apartment || ' / ' || room as room,
    readings || ' readings filed on ' || partition_date || ' are of ' || local_date as problem
from stray
union all
select
    coalesce(silver.room_key, gold.room_key)::text as room,
    coalesce(silver.date_key, gold.date_key) || ': silver ' || coalesce(silver.readings::text, 'none')
    || ' readings (' || coalesce(silver.readings_at_start, 0) || ' when the run started), gold '
    || coalesce(gold.readings::text, 'none') as problem
from silver
full join gold using (room_key, date_key)
where coalesce(gold.readings, 0) not between coalesce(silver.readings_at_start, 0) and coalesce(silver.readings, 0)
