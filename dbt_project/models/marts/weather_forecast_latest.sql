{{ config(materialized='view', tags=['daily']) }}
{#- Per target hour and site, the latest model run issued before the target's local day (its issue instant,
    the target minus its lead, before the local midnight that starts the target's day): what was known then.
    The target's date key leads the distinct keys (it follows from the target hour): a reader's filter on it then
    reaches the fact's rows of those days only. -#}
select distinct on (weather.date_key, weather.datetime_key, weather.site_key)
    weather.datetime_key,
    weather.date_key,
    weather.site_key,
    weather.issued_at,
    weather.lead_hours,
    weather.prediction_date as issued_on,
    weather.temperature_c,
    weather.humidity_pct,
    weather.precipitation_mm,
    weather.radiation_wm2
from {{ ref('fact_weather_hour') }} as weather
join {{ ref('dim_date') }} as days on days.date_key = weather.date_key
where weather.issued_at < days.date::timestamp at time zone '{{ var("timezone") }}'
order by
    weather.date_key asc, weather.datetime_key asc, weather.site_key asc, weather.issued_at desc, weather.prediction_date desc
