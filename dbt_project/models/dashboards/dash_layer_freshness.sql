{#- How recent each layer is: when silver loaded the newest day's files per source, and the newest minute and day
    in gold. Building-wide instants, no apartment's data. Each one is read through an index, not a scan (so each
    relation is read in a sub-select of its own: a CTE read twice would be materialised whole). -#}
with newest_days as (
    select
        sources.source,
        (
            select max(ledger.partition_date) from {{ ref('stg_file_ledger') }} as ledger
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
    (
        select max(ledger.loaded_at) from {{ ref('stg_file_ledger') }} as ledger
        where ledger.source = newest_days.source and ledger.partition_date = newest_days.partition_date
    ) as latest_at
from newest_days
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
