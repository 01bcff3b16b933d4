{#- How recent each layer is: when silver loaded the newest day's files per source, and the newest minute and day
    in gold. Building-wide instants, no apartment's data. Each one is read through an index, not a scan. -#}
with ledger as (
    select * from {{ ref('stg_file_ledger') }}
),
newest_days as (
    select
        sources.source,
        (
            select max(ledger.partition_date) from ledger
            where ledger.source = sources.source
        ) as partition_date
    from (values ('sensor'), ('weather')) as sources (source)
),
energy as (  -- the newest minute is on the newest local day: the date index finds it
    select max(datetime_key) as datetime_key from {{ ref('fact_energy_minute') }}
    where date_key = (select max(date_key) from {{ ref('fact_energy_minute') }})
),
health as (
    select max(date_key) as date_key from {{ ref('fact_device_health_day') }}
)
select
    'silver: ' || newest_days.source || ' files' as layer,
    max(ledger.loaded_at) as latest_at
from newest_days
inner join ledger
    on newest_days.source = ledger.source and newest_days.partition_date = ledger.partition_date
group by newest_days.source
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
