{#- The newest local day gold holds energy of: "today" of the dashboards, which is today in live operation and
    the last day of a data set loaded after the fact. -#}
{% macro gold_today() -%}
    (select to_date(max(date_key)::text, 'YYYYMMDD') from {{ ref('fact_energy_minute') }})
{%- endmacro %}
