{{ config(materialized='ephemeral') }}
{#- The current forecast of every use case, room and 15-minute window: the one issued last (then written last).
    Ephemeral: rendered into the views that read it at each of their builds, so they read gold.fact_prediction
    from the first build after the ML assets created it (before, on a fresh warehouse, no forecast). -#}
{%- set predictions = source('ml', 'fact_prediction') %}
{%- if execute and adapter.get_relation(predictions.database, predictions.schema, predictions.identifier) is none %}
select
    null::text as target,
    null::bigint as room_key,
    null::bigint as apartment_key,
    null::timestamptz as window_start,
    null::timestamptz as issue_time,
    null::double precision as probability,
    null::double precision as value,
    null::double precision as lower_value,
    null::double precision as upper_value
where false
{%- else %}
with predictions as (
    select target, room_key, apartment_key, window_start, issue_time, written_at, probability, value, lower_value,
           upper_value
    from {{ predictions }}
    where kind = 'forecast'
)

select distinct on (target, room_key, window_start)
    target,
    room_key,
    apartment_key,
    window_start,
    issue_time,
    probability,
    value,
    lower_value,
    upper_value
from predictions
order by target asc, room_key asc, window_start asc, issue_time desc, written_at desc
{%- endif %}
