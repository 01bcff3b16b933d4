{#- The latest occupancy forecast of every room and 15-minute window: the one issued last (then written last).
    Its source is written by the ML assets; the automation builds this view once they have run. Built by hand
    before (a fresh warehouse), it is an empty view until its next build (every night). -#}
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
