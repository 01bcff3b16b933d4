{{ config(materialized='ephemeral') }}
{#- The latest occupancy forecast of every room and 15-minute window: the one issued last (then written last).
    Ephemeral: rendered into presence_forecast_minute at each of its builds, so the view reads gold.fact_prediction
    from the first build after the ML assets created it (before, on a fresh warehouse, no forecast). -#}
{%- set predictions = source('ml', 'fact_prediction') %}
{%- if execute and adapter.get_relation(predictions.database, predictions.schema, predictions.identifier) is none %}
select
    null::bigint as room_key,
    null::timestamptz as window_start,
    null::double precision as probability
where false
{%- else %}
with predictions as (
    select room_key, window_start, issue_time, written_at, probability
    from {{ predictions }}
    where kind = 'forecast' and target = 'occupancy'
)

select distinct on (room_key, window_start)
    room_key,
    window_start,
    probability
from predictions
order by room_key asc, window_start asc, issue_time desc, written_at desc
{%- endif %}
