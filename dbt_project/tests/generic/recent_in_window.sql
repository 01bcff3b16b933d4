{#- Recency scoped to the run's window, for a fact keyed by UTC minute (datetime_key) and local date (date_key):
    fails (one row) when the window holds no row at all, or when its latest minute lies more than
    max_lag_minutes before the window's end (the end of its last local day, or now for the day in progress).
    A backfill of old days is judged by those days, not by today. The window is bounded on the minute as well: the
    newest minute is then looked up from the window's end, not from the table's. -#}
{% test recent_in_window(model, column_name, max_lag_minutes=60) %}
with window_end as (
    select least(now(), {{ window_midnight('max_date') }})
           - interval '{{ max_lag_minutes }} minutes' as due_at
),
latest as (
    select max({{ column_name }}) as latest_key
    from {{ model }}
    where {{ date_key_in_window() }}
        and {{ column_name }} >= {{ minute_key(window_midnight('min_date')) }}
        and {{ column_name }} < {{ minute_key(window_midnight('max_date')) }}
)
select latest.latest_key, {{ minute_key('window_end.due_at') }} as due_key
from latest cross join window_end
where latest.latest_key is null or latest.latest_key < {{ minute_key('window_end.due_at') }}
{% endtest %}
