"""Gold layer: the dbt star schema as Dagster assets."""
