{{ config(materialized='table', indexes=[{'columns': ['date_key']}]) }}
{#- One row per minute of the local days in dim_date: 1,440 a day, 1,380 on the spring-forward day and 1,500
    on the fall-back day. The key is the UTC minute (unique across DST); local date, hour and minute beside it. -#}
with range as (select * from {{ ref('int_calendar_range') }}),
minutes as (
    select generate_series(range.first_day::timestamp at time zone '{{ var("timezone") }}',
                           (range.last_day + 1)::timestamp at time zone '{{ var("timezone") }}' - interval '1 minute',
                           interval '1 minute') as minute_utc
    from range
),
localised as (
    select minute_utc, minute_utc at time zone '{{ var("timezone") }}' as local_minute from minutes
)
select
    {{ minute_key('minute_utc') }} as datetime_key,
    minute_utc as timestamp_utc,
    local_minute as timestamp_local,
    {{ date_key('local_minute::date') }} as date_key,
    extract(hour from local_minute)::smallint as hour,
    extract(minute from local_minute)::smallint as minute,
    (extract(hour from local_minute) * 4 + floor(extract(minute from local_minute) / 15))::smallint as quarter_hour_of_day,
    extract(isodow from local_minute) in (6, 7) as is_weekend
from localised
