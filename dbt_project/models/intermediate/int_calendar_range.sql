{#- The local days gold covers: every day with silver data (sensor files or forecast targets), one day either
    side. Read from the small file ledger, not from the readings. -#}
with ledger as (
    select min(partition_date) as first_day, max(partition_date) as last_day
    from {{ ref('stg_file_ledger') }}
),
forecasts as (
    select min({{ local_date('target_hour_utc') }}) as first_day, max({{ local_date('target_hour_utc') }}) as last_day
    from {{ ref('stg_weather_forecasts') }}
)
select
    coalesce(least(ledger.first_day, forecasts.first_day), current_date) - 1 as first_day,
    coalesce(greatest(ledger.last_day, forecasts.last_day), current_date) + 1 as last_day
from ledger cross join forecasts
