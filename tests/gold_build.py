"""Gold of the test data set, built once per session (tests/conftest.py's `warehouse` and `built`): silver of
three generated days (the autumn DST change in the middle) loaded through the Dagster assets, then dbt."""

from __future__ import annotations

import dagster as dg

from domotic_assets.gold.assets import gold_daily_models, gold_dashboard_views, gold_models
from domotic_assets.gold.project import gold_dbt
from resources.postgres import PostgresResource

DAYS = ["2023-10-28", "2023-10-29", "2023-10-30"]


def build(warehouse: PostgresResource, start: str = DAYS[0], end: str = DAYS[-1], raise_on_error=True,
          runner: str | None = None, views: bool = False) -> list:
    """gold_models, then gold_daily_models over [start, end], then (`views`) the dashboards' views."""
    resources = {"dbt": gold_dbt(runner), "warehouse": warehouse}
    results = [dg.materialize([gold_models], resources=resources)]
    results.append(dg.materialize([gold_daily_models], resources=resources, raise_on_error=raise_on_error, tags={
        "dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}))
    if views:
        results.append(dg.materialize([gold_dashboard_views], resources=resources, raise_on_error=raise_on_error))
    return results
