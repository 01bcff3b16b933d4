{#- Keys of the star. Surrogate keys are hashes of the natural key, so they are stable across rebuilds and
    a fact computes them without joining its dimensions. Minute keys are the UTC minute (YYYYMMDDHHMM, unique
    across DST changes); date keys are local dates (YYYYMMDD) in var('timezone'). -#}
{% macro surrogate_key(columns) -%}
    ('x' || substr(md5(concat_ws('|', {{ columns | join(', ') }})), 1, 15))::bit(60)::bigint
{%- endmacro %}

{% macro minute_key(ts) -%}
    to_char(date_trunc('minute', {{ ts }}) at time zone 'UTC', 'YYYYMMDDHH24MI')::bigint
{%- endmacro %}

{% macro date_key(day) -%}
    to_char({{ day }}, 'YYYYMMDD')::integer
{%- endmacro %}

{% macro local_date(ts) -%}
    ({{ ts }} at time zone '{{ var("timezone") }}')::date
{%- endmacro %}

{#- Half-open bounds of the run's day window, as literals so PostgreSQL prunes silver's day partitions. -#}
{% macro in_window(column, days_before=0, days_after=0) -%}
    {{ column }} >= date '{{ var("min_date") }}' - {{ days_before }}
    and {{ column }} < date '{{ var("max_date") }}' + {{ days_after }}
{%- endmacro %}

{#- The sensor readings a window's facts read (`prefix`: the relation's alias and a dot): the files of the window's
    days, and of the files of the day before and the day after (one may hold a minute of the window) only the
    minutes from var('edge_minutes') before the window's start to as many after its end. A run rebuilding from
    var('rebuild_from') reads no minute earlier than as many before that instant. What lies further out and still
    decides a minute of the window (a counter's readings before a gap, a door's previous state) is read apart, with
    before_sensor_span and after_sensor_span. `minute`: the reading's minute or its instant (the span's edges are
    whole minutes). -#}
{% macro in_sensor_span(prefix='', minute='minute_utc') -%}
    {{ in_window(prefix ~ 'partition_date', days_before=1, days_after=1) }}
    {%- if var('rebuild_from') %}
    and {{ prefix }}{{ minute }} >= {{ sensor_span_start() }}
    {%- else %}
    and ({{ prefix }}partition_date >= date '{{ var("min_date") }}' or {{ prefix }}{{ minute }} >= {{ sensor_span_start() }})
    {%- endif %}
    and ({{ prefix }}partition_date < date '{{ var("max_date") }}' or {{ prefix }}{{ minute }} < {{ sensor_span_end() }})
{%- endmacro %}

{#- The readings before the sensor span: in the files up to the day before the window, and in a run rebuilding
    from var('rebuild_from') those of the window's files before its span too (index lookups, pruned to those days'
    partitions). -#}
{% macro before_sensor_span(prefix='') -%}
    {%- if var('rebuild_from') -%}
    {{ prefix }}partition_date < date '{{ var("max_date") }}' + 1
    and ({{ prefix }}partition_date < date '{{ var("min_date") }}' - 1 or {{ prefix }}minute_utc < {{ sensor_span_start() }})
    {%- else -%}
    {{ prefix }}partition_date < date '{{ var("min_date") }}'
    and ({{ prefix }}partition_date < date '{{ var("min_date") }}' - 1 or {{ prefix }}minute_utc < {{ sensor_span_start() }})
    {%- endif -%}
{%- endmacro %}

{#- The span's readings before the window's minutes (the margin a day's build reads from the day before). -#}
{% macro before_window(prefix='') -%}
    {%- if var('rebuild_from') -%}
    {{ prefix }}minute_utc < {{ window_start() }}
    {%- else -%}
    {{ prefix }}partition_date < date '{{ var("min_date") }}'
    {%- endif -%}
{%- endmacro %}

{#- The readings after the sensor span, in the files from the day after the window on. -#}
{% macro after_sensor_span(prefix='') -%}
    {{ prefix }}partition_date >= date '{{ var("max_date") }}'
    and ({{ prefix }}partition_date >= date '{{ var("max_date") }}' + 1 or {{ prefix }}minute_utc >= {{ sensor_span_end() }})
{%- endmacro %}

{#- The minutes a fact's window builds, of their local date (`local_day`: that date when already computed): the
    window's days, from var('rebuild_from') on when set. -#}
{% macro in_built_minutes(minute, local_day=none) -%}
    {{ in_window(local_day or local_date(minute)) }}
    {%- if var('rebuild_from') %} and {{ minute }} >= {{ window_start() }}{% endif -%}
{%- endmacro %}

{#- The first instant a run builds: var('rebuild_from') (a UTC minute of the window's first day, the earliest its
    new readings change) or the window's first local midnight. -#}
{% macro window_start() -%}
    {%- if var('rebuild_from') -%}
    (timestamptz '{{ var("rebuild_from") }}')
    {%- else -%}
    {{ window_midnight('min_date') }}
    {%- endif -%}
{%- endmacro %}

{#- The start of the sensor span: the window's start less var('edge_minutes'). -#}
{% macro sensor_span_start() -%}
    ({{ window_start() }} - interval '{{ var("edge_minutes") }} minutes')
{%- endmacro %}

{#- The end of the sensor span: the window's last local midnight and var('edge_minutes'). -#}
{% macro sensor_span_end() -%}
    ({{ window_midnight('max_date') }} + interval '{{ var("edge_minutes") }} minutes')
{%- endmacro %}

{#- A local midnight of the window (var min_date or max_date), as an instant. -#}
{% macro window_midnight(day_var) -%}
    (date '{{ var(day_var) }}'::timestamp at time zone '{{ var("timezone") }}')
{%- endmacro %}

{#- The same window on a date key column (YYYYMMDD). -#}
{% macro date_key_in_window(column='date_key') -%}
    {{ column }} >= {{ var("min_date") | replace("-", "") }} and {{ column }} < {{ var("max_date") | replace("-", "") }}
{%- endmacro %}

{#- The rows of the minutes a run builds, by their keys: the window's days on a date key column and, with
    `minute_key_column` (a UTC minute key) in a run rebuilding from var('rebuild_from'), the minutes from it on. -#}
{% macro in_built_minute_keys(date_key_column='date_key', minute_key_column=none) -%}
    {{ date_key_in_window(date_key_column) }}
    {%- if minute_key_column and var('rebuild_from') %}
    and {{ minute_key_column }} >= {{ minute_key(window_start()) }}
    {%- endif -%}
{%- endmacro %}

{#- Incremental facts replace their window (pre-hook): the delete is bounded to the window, by date key or,
    with `as_date`, by a date column; a minute fact (`minute_key_column`, its UTC minute key) rebuilding from
    var('rebuild_from') deletes from that minute on. Gold runs of other days build beside it; one that writes a day
    of this window waits until this one commits (lock_window_days), then replaces what it wrote. -#}
{% macro delete_window(relation, column='date_key', as_date=false, minute_key_column=none) -%}
    {%- if is_incremental() -%}
    {{ lock_window_days(relation) }};
    {%- if as_date %}
    delete from {{ relation }} where {{ in_window(column) }}
    {%- else %}
    delete from {{ relation }} where {{ in_built_minute_keys(column, minute_key_column) }}
    {%- endif -%}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- The window's days of a fact, locked to the end of the model's transaction: each day by an advisory lock, in
    ascending order (two runs of overlapping windows wait, never deadlock); a window of more than
    var('max_locked_days') days locks the whole table against other writers (SHARE ROW EXCLUSIVE: readers read
    on), which a day's writer, whose delete needs ROW EXCLUSIVE, waits for as well. -#}
{% macro lock_window_days(relation) -%}
    {%- set first = modules.datetime.date.fromisoformat(var('min_date')) -%}
    {%- set days = (modules.datetime.date.fromisoformat(var('max_date')) - first).days -%}
    {%- if days > var('max_locked_days') -%}
    lock table {{ relation }} in share row exclusive mode
    {%- else -%}
    do $$
    begin
        for day in 0..{{ days - 1 }} loop
            perform pg_advisory_xact_lock(hashtext('{{ relation }}'), {{ (first - modules.datetime.date(2000, 1, 1)).days }} + day);
        end loop;
    end $$
    {%- endif -%}
{%- endmacro %}

{#- An incremental mart is analysed after its window's insert (a marts post-hook): otherwise the planner takes a
    day it has not seen yet for an empty one, and the day's tests join its rows in nested loops. -#}
{% macro analyze_incremental() -%}
    {%- if config.get('materialized') == 'incremental' -%}
    analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
