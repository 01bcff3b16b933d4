{#- The relation a generic test reads. A test with `meta: {run_window: <date key column>}` reads the rows of the
    run's window only; the window is rendered here, when the test runs, so every run gets its own `--vars` (a
    `where` config is rendered once, when the project is parsed). Otherwise dbt's own `where` handling. -#}
{% macro get_where_subquery(relation) -%}
    {%- set window_column = (config.get('meta') or {}).get('run_window') -%}  {#- while parsing, config.get gives '' -#}
    {%- if window_column -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ date_key_in_window(window_column) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(dbt.default__get_where_subquery(relation)) -%}
{%- endmacro %}
