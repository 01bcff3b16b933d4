{#- How recent each layer is: the newest file loaded into silver per source, and the newest minute and day in
    gold. Building-wide instants, no apartment's data. -#}
with ledger as (
    select * from {{ ref('stg_file_ledger') }}
),
energy as (
    select max(datetime_key) as datetime_key from {{ ref('fact_energy_minute') }}
),
health as (
    select max(date_key) as date_key from {{ ref('fact_device_health_day') }}
)
select
    'silver: ' || ledger.source || ' files' as layer,
    max(ledger.loaded_at) as latest_at
from ledger
group by ledger.source
union all
select
    'gold: energy minutes' as layer,
    to_timestamp(energy.datetime_key::text, 'YYYYMMDDHH24MI')::timestamp at time zone 'UTC' as latest_at
from energy
union all
select
    'gold: device health days' as layer,
    (to_date(health.date_key::text, 'YYYYMMDD') + 1)::timestamp at time zone '{{ var("timezone") }}' as latest_at
from health
