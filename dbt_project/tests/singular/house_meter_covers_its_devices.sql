-- Per apartment with a house meter and local day with energy data: the meter must be known on at least
-- house_meter_min_coverage of the minutes (a missing meter fails, it never passes for lack of data), and on the
-- minutes where the meter and the devices are both known, the metered devices must not consume more than the
-- house (house_balance_tolerance). The device-health alert house_balance applies the same vars.
{{ config(tags=['daily']) }}
with metered as (
    select distinct apartment_key
    from {{ ref('dim_device') }}
    where sensor_type = 'consumption'
),

days as (
    select
        apartment_key,
        date_key,
        count(*) as minutes,
        count(*) filter (where is_comparable) as comparable_minutes,
        coalesce(sum(house_wh) filter (where is_comparable), 0) as house_wh,
        coalesce(sum(devices_wh) filter (where is_comparable), 0) as devices_wh
    from {{ ref('house_balance_minute') }}
    where {{ date_key_in_window() }} and apartment_key in (select apartment_key from metered)
    group by apartment_key, date_key
)

select
    apartment_key,
    date_key,
    minutes,
    comparable_minutes,
    round(comparable_minutes::numeric / minutes, 3) as coverage,
    house_wh,
    devices_wh
from days
where comparable_minutes < {{ var('house_meter_min_coverage') }} * minutes
    or devices_wh > (1 + {{ var('house_balance_tolerance') }}) * house_wh
