{#- The relation a generic test reads. A test with `meta: {run_window: <date key column>}` reads the rows of the
    run's window only, and with `run_minutes: <minute key column>` as well only the minutes the run builds (from
    var('rebuild_from') on, when set); the window is rendered here, when the test runs, so every run gets its own
    `--vars` (a `where` config is rendered once, when the project is parsed). Otherwise dbt's own `where` handling. -#}
{% macro get_where_subquery(relation) -%}
    {%- set meta = config.get('meta') or {} -%}  {#- while parsing, config.get gives '' -#}
    {%- if meta.get('run_window') -%}
        {%- set rows = in_built_minute_keys(meta.get('run_window'), meta.get('run_minutes')) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ rows ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(dbt.default__get_where_subquery(relation)) -%}
{%- endmacro %}
