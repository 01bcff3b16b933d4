{#- Energy and cost per plug and local day: the breakdown per device of a resident's dashboard. -#}
with energy as (
    select * from {{ ref('energy_cost_day') }}
),
devices as (
    select * from {{ ref('dim_device') }}
),
rooms as (
    select * from {{ ref('dim_room') }}
),
days as (
    select * from {{ ref('dim_date') }}
),
apartments as (
    select * from {{ ref('dim_apartment') }}
)
select
    days.date,
    {{ gold_today() }} - days.date as days_ago,
    energy.apartment_key,
    apartments.apartment_id,
    rooms.room_name,
    devices.device_id,
    rooms.room_name || ' · ' || devices.device_id as device_label,
    energy.energy_kwh,
    energy.cost_chf
from energy
inner join devices on energy.device_key = devices.device_key
inner join rooms on energy.room_key = rooms.room_key
inner join days on energy.date_key = days.date_key
inner join apartments on energy.apartment_key = apartments.apartment_key
where devices.sensor_type = 'plug'
