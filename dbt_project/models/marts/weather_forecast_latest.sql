{{ config(materialized='view', tags=['daily']) }}
{#- Per target hour and site, the latest forecast issued before the target's local day: what was known at
    an issue time of local midnight before that day (the rule the ML features use). -#}
select distinct on (weather.datetime_key, weather.site_key)
    weather.datetime_key,
    weather.date_key,
    weather.site_key,
    weather.prediction_date as issued_on,
    (days.date - weather.prediction_date)::integer as lead_days,
    weather.temperature_c,
    weather.humidity_pct,
    weather.precipitation_mm,
    weather.radiation_wm2,
    weather.n_model_runs
from {{ ref('fact_weather_hour') }} as weather
join {{ ref('dim_date') }} as days on days.date_key = weather.date_key
where weather.prediction_date < days.date
order by weather.datetime_key asc, weather.site_key asc, weather.prediction_date desc
