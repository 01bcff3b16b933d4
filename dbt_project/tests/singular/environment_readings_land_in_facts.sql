-- Reconciliation, over the run's window: every silver reading of an environment sensor lands in
-- fact_environment_minute (its `readings` column counts them), day by day.
{{ config(tags=['daily']) }}
with silver as (
    select {{ date_key('partition_date') }} as date_key, count(*) as readings
    from {{ ref('stg_sensor_events') }}
    where {{ in_window('partition_date') }} and sensor_type in ('meteo', 'humidity', 'door', 'window')
    group by 1
),
gold as (
    select date_key, sum(readings) as readings
    from {{ ref('fact_environment_minute') }}
    where {{ date_key_in_window() }}
    group by 1
)
select silver.date_key, silver.readings as silver_readings, gold.readings as gold_readings
from silver left join gold using (date_key)
where gold.readings is distinct from silver.readings
