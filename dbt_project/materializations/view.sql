{#- The project's views are replaced in place (`create or replace view`), in one transaction. dbt's own view
    materialization builds a new view beside the old one, renames the old one away and drops it `cascade`, which
    drops every view built on it: each gold day dropped the dashboards' views on `energy_cost_day` and
    `house_balance_minute`. Replaced in place, the views on a view stay, with their grants. Two runs that build
    one view at once take turns (a lock on its name until the transaction ends). A change of its columns, which
    `create or replace` refuses, drops the view (with the views on it, as dbt's swap did) and creates it again. -#}
{%- materialization view, adapter='postgres' -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set definition = get_replace_view_sql(target_relation, sql) -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {%- if existing_relation is not none and not existing_relation.is_view -%}
    {{ adapter.drop_relation(existing_relation) }}
  {%- endif -%}
  {% call statement('main') -%}
    do $replace$
    begin
        perform pg_advisory_xact_lock(hashtext({{ dbt.string_literal(target_relation) }}));
        begin
            execute $definition${{ definition }}$definition$;
        exception when invalid_table_definition then
            raise notice 'the columns of % changed: it is dropped with the views on it and created again',
                {{ dbt.string_literal(target_relation) }};
            execute $drop$drop view {{ target_relation }} cascade$drop$;
            execute $definition${{ definition }}$definition$;
        end;
    end $replace$
  {%- endcall %}
  {% do persist_docs(target_relation, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{%- endmaterialization -%}
