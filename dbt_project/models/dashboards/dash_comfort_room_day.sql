{#- Comfort per room and local day: minutes with CO2 above 1000 ppm, and the temperature's range and mean. -#}
with environment as (
    select * from {{ ref('fact_environment_minute') }}
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
    environment.apartment_key,
    apartments.apartment_id,
    rooms.room_name,
    count(*) filter (where environment.co2_ppm > 1000) as co2_minutes_above_1000,
    min(environment.temperature_c) as temperature_min_c,
    max(environment.temperature_c) as temperature_max_c,
    round(avg(environment.temperature_c)::numeric, 2) as temperature_avg_c,
    round(avg(environment.humidity_pct)::numeric, 1) as humidity_avg_pct
from environment
inner join rooms on environment.room_key = rooms.room_key
inner join days on environment.date_key = days.date_key
inner join apartments on environment.apartment_key = apartments.apartment_key
group by days.date, environment.apartment_key, apartments.apartment_id, rooms.room_name
