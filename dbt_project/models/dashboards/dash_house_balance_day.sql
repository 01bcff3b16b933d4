{#- The house balance per apartment and local day: house meter, metered devices and their residual on the
    comparable minutes, and the share of the day's minutes that are comparable (coverage). -#}
with balance as (
    select * from {{ ref('house_balance_minute') }}
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
    balance.apartment_key,
    apartments.apartment_id,
    round((sum(balance.house_wh) filter (where balance.is_comparable) / 1000.0)::numeric, 3) as house_kwh,
    round((sum(balance.devices_wh) filter (where balance.is_comparable) / 1000.0)::numeric, 3) as devices_kwh,
    round((sum(balance.residual_wh) filter (where balance.is_comparable) / 1000.0)::numeric, 3) as residual_kwh,
    round(100.0 * count(*) filter (where balance.is_comparable) / days.minutes_in_day, 1) as coverage_pct
from balance
inner join days on balance.date_key = days.date_key
inner join apartments on balance.apartment_key = apartments.apartment_key
where balance.house_wh is not null or balance.devices_wh is not null
group by days.date, days.minutes_in_day, balance.apartment_key, apartments.apartment_id
