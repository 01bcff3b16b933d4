{#- The local days gold covers: every day with a loaded file, sensor or forecast (the small file ledger, not the
    readings), one day before and two after (a forecast file's targets reach two days past its issue date).
    Sensor data alone makes the calendar: the dimensions and the sensor facts never wait for the weather. -#}
with ledger as (
    select
        min(partition_date) as first_day,
        max(partition_date) as last_day
    from {{ ref('stg_file_ledger') }}
)

select
    coalesce(ledger.first_day, current_date) - 1 as first_day,
    coalesce(ledger.last_day, current_date) + 2 as last_day
from ledger
