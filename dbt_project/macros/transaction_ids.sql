{#- A row's inserting transaction (its `xmin`) as a full transaction id (`xid8`), to compare with a snapshot
    (`pg_visible_in_snapshot`): silver's function, given the epoch and low bits of the newest transaction id. -#}
{% macro full_transaction_id(xid_column) -%}
    {%- set newest = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint" -%}
    silver.full_transaction_id({{ xid_column }}, (select {{ newest }} >> 32), (select {{ newest }} & 4294967295))
{%- endmacro %}

{#- Whether a row was committed in the snapshot var('silver_snapshot') (true when the var is unset). Exact when the
    snapshot was taken while no writer of the row's table was in progress (silver store.between_writes): a row
    written under a savepoint carries a subtransaction id, which pg_visible_in_snapshot cannot judge while its
    transaction runs. -#}
{% macro in_silver_snapshot(xid_column='xmin') -%}
    {%- set snapshot = var('silver_snapshot') -%}
    {%- if snapshot -%}
    pg_visible_in_snapshot({{ full_transaction_id(xid_column) }}, '{{ snapshot | replace("'", "''") }}'::pg_snapshot)
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}
