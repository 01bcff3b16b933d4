{{ config(materialized='view', tags=['daily']) }}
{#- Presence per room and minute beside the occupancy forecast of its 15-minute window (the latest issued):
    the ML forecasts read the presence facts, so the two meet here, downstream of both. The forecast predicts
    motion (occupied_flag), presence_flag also counts door activity. -#}
select
    presence.datetime_key,
    presence.date_key,
    presence.room_key,
    presence.apartment_key,
    presence.presence_flag,
    coalesce(presence.motion_count, 0) > 0 as occupied_flag,
    forecasts.probability as presence_prob
from {{ ref('fact_presence_minute') }} as presence
left join {{ ref('stg_forecasts') }} as forecasts
    on
        forecasts.target = 'occupancy'
        and presence.room_key = forecasts.room_key
        and presence.datetime_key - presence.datetime_key % 100 % 15
        = to_char(forecasts.window_start at time zone 'UTC', 'YYYYMMDDHH24MI')::bigint
where {{ apartment_rows_visible('presence.apartment_key') }}
