{#- Occupancy per room and local day: the minutes with presence and their share of the day. -#}
with presence as (
    select * from {{ ref('fact_presence_minute') }}
    where {{ apartment_rows_visible('apartment_key') }}
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
    presence.apartment_key,
    apartments.apartment_id,
    rooms.room_name,
    count(*) filter (where presence.presence_flag) as occupied_minutes,
    round(100.0 * count(*) filter (where presence.presence_flag) / days.minutes_in_day, 1) as occupied_pct
from presence
inner join rooms on presence.room_key = rooms.room_key
inner join days on presence.date_key = days.date_key
inner join apartments on presence.apartment_key = apartments.apartment_key
group by days.date, days.minutes_in_day, presence.apartment_key, apartments.apartment_id, rooms.room_name
