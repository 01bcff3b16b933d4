{#- Who sees which apartment: governance.apartment_access (domotic_ops/access.sql, set up by the admin role).
    A post-hook of every mart. Apartment-scoped tables get row-level security. A view reads its tables with its
    owner's rights (no policy is FORCEd on the owner's own tables), so an apartment-scoped view filters its rows
    itself, and every view is a security barrier: a caller's condition that is not leakproof (its own
    function, a failing cast) runs after the view's filter, never on another apartment's rows. -#}
{% macro protect_apartment_rows() -%}
    {%- if config.get('materialized') == 'view' -%}
        alter view {{ this }} set (security_barrier = true)
    {%- elif 'apartment_key' in model.columns and config.get('materialized') in ('table', 'incremental') -%}
        select governance.protect_apartment_rows(
            '{{ adapter.quote(this.schema) }}.{{ adapter.quote(this.identifier) }}'::regclass)
    {%- endif -%}
{%- endmacro %}

{% macro apartment_rows_visible(column) -%}
    ((select governance.sees_every_apartment()) or {{ column }} in (select governance.visible_apartments()))
{%- endmacro %}
