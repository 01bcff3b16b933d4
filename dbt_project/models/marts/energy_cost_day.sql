{{ config(materialized='view', tags=['daily']) }}
{#- Energy and cost per device and local day, priced when read with the tariff in force that day (tariffs change at
    local midnight), so a corrected tariff row reaches every day at once. Filtered for the querying role. -#}
with energy as (
    select date_key, device_key, room_key, apartment_key, sum(energy_wh) as energy_wh,
           count(*) filter (where energy_wh is null) as unknown_minutes
    from {{ ref('fact_energy_minute') }}
    where {{ apartment_rows_visible('apartment_key') }}
    group by date_key, device_key, room_key, apartment_key
),
tariffs as (
    select * from {{ ref('dim_tariff') }}
    where provider = '{{ var("tariff_provider") }}'
)
select
    energy.date_key,
    energy.device_key,
    energy.room_key,
    energy.apartment_key,
    energy.energy_wh,
    energy.energy_wh / 1000.0 as energy_kwh,
    energy.unknown_minutes::integer as unknown_minutes,
    tariffs.chf_per_kwh,
    round((energy.energy_wh / 1000.0 * tariffs.chf_per_kwh)::numeric, 6)::numeric(14, 6) as cost_chf
from energy
join {{ ref('dim_date') }} as days on days.date_key = energy.date_key
left join tariffs
    on days.date >= tariffs.valid_from and (tariffs.valid_to is null or days.date < tariffs.valid_to)
