{#- Who sees which apartment: governance.apartment_access (domotic_ops/access.sql, set up by the admin role).
    Apartment-scoped tables get row-level security (a post-hook of every mart; a no-op for the others); an
    apartment-scoped view filters its rows itself (a view reads its tables with its owner's rights). -#}
{% macro protect_apartment_rows() -%}
    {%- if 'apartment_key' in model.columns and config.get('materialized') in ('table', 'incremental') -%}
        select governance.protect_apartment_rows(
            '{{ adapter.quote(this.schema) }}.{{ adapter.quote(this.identifier) }}'::regclass)
    {%- endif -%}
{%- endmacro %}

{% macro apartment_rows_visible(column) -%}
    ((select governance.sees_every_apartment()) or {{ column }} in (select governance.visible_apartments()))
{%- endmacro %}
