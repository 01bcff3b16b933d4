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

{#- The same window on a date key column (YYYYMMDD). -#}
{% macro date_key_in_window(column='date_key') -%}
    {{ column }} >= {{ var("min_date") | replace("-", "") }} and {{ column }} < {{ var("max_date") | replace("-", "") }}
{%- endmacro %}

{#- Incremental facts replace their window (pre-hook): the delete is bounded to the window, by date key or,
    with `as_date`, by a date column. -#}
{% macro delete_window(relation, column='date_key', as_date=false) -%}
    {%- if is_incremental() -%}
    {%- if as_date -%}
    delete from {{ relation }} where {{ in_window(column) }}
    {%- else -%}
    delete from {{ relation }} where {{ date_key_in_window(column) }}
    {%- endif -%}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- An incremental mart is analysed after its window's insert (a marts post-hook): otherwise the planner takes a
    day it has not seen yet for an empty one, and the day's tests join its rows in nested loops. -#}
{% macro analyze_incremental() -%}
    {%- if config.get('materialized') == 'incremental' -%}
    analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
