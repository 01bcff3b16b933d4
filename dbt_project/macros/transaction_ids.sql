{#- A row's inserting transaction (its `xmin`, 32 bits) as a full transaction id (`xid8`), to compare with a
    snapshot (`pg_visible_in_snapshot`): the epoch of the newest transaction id, less one for an id at or above
    its low 32 bits, which was assigned before the last wraparound. -#}
{% macro full_transaction_id(xid_column) -%}
    {%- set next_id = "(select pg_snapshot_xmax(pg_current_snapshot())::text::bigint)" -%}
    (((({{ next_id }} >> 32) - ({{ xid_column }}::text::bigint >= ({{ next_id }} & 4294967295))::integer) << 32)
     | {{ xid_column }}::text::bigint)::text::xid8
{%- endmacro %}

{#- Whether a row was committed in the snapshot var('silver_snapshot') (true when the var is unset). Exact when the
    snapshot was taken while no writer of the row's table was in progress (store.snapshot_between_writes): a row
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
