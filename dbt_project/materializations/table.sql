{#- The project's tables (the dimensions) keep their relation when rebuilt with the same columns: the new rows are
    built beside them, then replace their rows in one transaction (readers see the old rows or the new ones). dbt's
    own table materialization renames the old table away and drops it `cascade`, which drops every view on it:
    each night's rebuild of the dimensions dropped the daily views (`energy_cost_day`, …) and the dashboards'
    views on those until a gold day and the dashboards were built again. A table whose columns changed is swapped
    as dbt does (with the views on it), and so is every table in a full refresh; a new table gets its indexes
    (`indexes` config). -#}
{%- materialization table, adapter='postgres' -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {%- set backup_relation = make_backup_relation(target_relation,
        'table' if existing_relation is none else existing_relation.type) -%}
  {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
  {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% call statement('main') -%}
    {{ get_create_table_as_sql(False, intermediate_relation, sql) }}
  {%- endcall %}
  {%- set in_place = existing_relation is not none and existing_relation.is_table and not should_full_refresh()
        and same_columns(existing_relation, intermediate_relation) -%}
  {%- if in_place -%}
    {% call statement('replace_rows') -%}
      delete from {{ target_relation }};
      insert into {{ target_relation }} select * from {{ intermediate_relation }};
      drop table {{ intermediate_relation }}
    {%- endcall %}
  {%- else -%}
    {% do create_indexes(intermediate_relation) %}
    {%- if existing_relation is not none -%}
      {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {%- endif -%}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}
  {%- endif -%}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  -- `COMMIT` happens here
  {{ adapter.commit() }}
  {{ drop_relation_if_exists(backup_relation) }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{%- endmaterialization -%}

{#- Whether two relations have the same columns, in the same order, of the same types (as PostgreSQL spells
    them, with their precision, lengths and element types). -#}
{% macro same_columns(relation, other) -%}
  {{ return(column_types(relation) == column_types(other)) }}
{%- endmacro %}

{% macro column_types(relation) -%}
  {%- set described = run_query("select attname || ' ' || format_type(atttypid, atttypmod) from pg_attribute
                                 where attrelid = " ~ dbt.string_literal(relation.include(database=false)) ~ "::regclass
                                 and attnum > 0 and not attisdropped order by attnum") -%}
  {{ return(described.columns[0].values() | list) }}
{%- endmacro %}
