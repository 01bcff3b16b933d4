{#- One row per forecast site found in silver. -#}
select distinct
    {{ surrogate_key(['site']) }} as site_key,
    site::text as site_name
from {{ ref('stg_weather_forecasts') }}
