-- The metered devices of an apartment should not consume more than its house meter: a warning when, over a
-- local day, the devices exceed the house by more than 5 %.
{{ config(severity='warn', tags=['daily']) }}
select apartment_key, date_key, sum(house_wh) as house_wh, sum(devices_wh) as devices_wh
from {{ ref('house_balance_minute') }}
where {{ date_key_in_window() }}
group by apartment_key, date_key
having sum(devices_wh) > 1.05 * sum(house_wh)
