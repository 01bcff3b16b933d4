{{ config(materialized='table') }}
{#- One row per local date of the data range (a calendar spine, not the dates that happen to hold data). -#}
with range as (select * from {{ ref('int_calendar_range') }}),
holidays as (select * from {{ ref('swiss_holidays') }}),
days as (
    select generate_series(range.first_day, range.last_day, interval '1 day')::date as day from range
)
select
    {{ date_key('days.day') }} as date_key,
    days.day as date,
    trim(to_char(days.day, 'Day'))::text as day_of_week,
    extract(isodow from days.day)::smallint as iso_day_of_week,
    extract(week from days.day)::smallint as iso_week,
    extract(isoyear from days.day)::smallint as iso_year,
    extract(month from days.day)::smallint as month,
    extract(year from days.day)::smallint as year,
    extract(isodow from days.day) in (6, 7) as is_weekend,
    holidays.holiday_date is not null as is_holiday,
    holidays.holiday_name::text as holiday_name,
    (extract(epoch from ((days.day + 1)::timestamp at time zone '{{ var("timezone") }}')
                       - (days.day::timestamp at time zone '{{ var("timezone") }}')) / 60)::integer as minutes_in_day
from days
left join holidays on holidays.holiday_date = days.day
