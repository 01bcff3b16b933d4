{#- Energy and cost per apartment and local day: the house meter where the apartment has one, else its plugs.
    Superset's time grain turns the days into weeks and months. -#}
with energy as (
    select * from {{ ref('energy_cost_day') }}
),
devices as (
    select * from {{ ref('dim_device') }}
),
days as (
    select * from {{ ref('dim_date') }}
),
apartments as (
    select * from {{ ref('dim_apartment') }}
),
per_kind as (
    select
        energy.date_key,
        energy.apartment_key,
        sum(energy.energy_kwh) filter (where devices.sensor_type = 'consumption') as house_kwh,
        sum(energy.cost_chf) filter (where devices.sensor_type = 'consumption') as house_cost_chf,
        sum(energy.energy_kwh) filter (where devices.sensor_type = 'plug') as plugs_kwh,
        sum(energy.cost_chf) filter (where devices.sensor_type = 'plug') as plugs_cost_chf,
        sum(energy.unknown_minutes) as unknown_minutes
    from energy
    inner join devices on energy.device_key = devices.device_key
    group by energy.date_key, energy.apartment_key
)
select
    days.date,
    {{ gold_today() }} - days.date as days_ago,
    per_kind.apartment_key,
    apartments.apartment_id,
    apartments.building_name,
    coalesce(per_kind.house_kwh, per_kind.plugs_kwh) as energy_kwh,
    coalesce(per_kind.house_cost_chf, per_kind.plugs_cost_chf) as cost_chf,
    per_kind.house_kwh is not null as from_house_meter,
    per_kind.unknown_minutes
from per_kind
inner join days on per_kind.date_key = days.date_key
inner join apartments on per_kind.apartment_key = apartments.apartment_key
