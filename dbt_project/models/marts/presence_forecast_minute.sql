{{ config(materialized='view', tags=['daily']) }}
{#- Presence per room and minute beside the occupancy forecast of its 15-minute window (the latest issued):
    the ML forecasts read the presence facts, so the two meet here, downstream of both. -#}
select
    presence.datetime_key,
    presence.date_key,
    presence.room_key,
    presence.apartment_key,
    presence.presence_flag,
    forecasts.probability as presence_prob
from {{ ref('fact_presence_minute') }} as presence
inner join {{ ref('dim_datetime') }} as minutes on presence.datetime_key = minutes.datetime_key
left join {{ ref('stg_occupancy_forecasts') }} as forecasts
    on
        presence.room_key = forecasts.room_key
        and forecasts.window_start = date_bin(interval '15 minutes', minutes.timestamp_utc, timestamptz '2000-01-01 00:00:00+00')
where {{ apartment_rows_visible('presence.apartment_key') }}
