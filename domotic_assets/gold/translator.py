"""How dbt models appear in Dagster: keys are the model names, groups by layer, and automation so that a gold
day follows its silver day."""

import functools
import operator
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from domotic_assets.automation import HANDLED
from domotic_assets.silver.reaching_back import READINGS_REACHING_BACK
from domotic_assets.timing import TIMEZONE

DAILY_TAG = "daily"
DASHBOARDS_TAG = "dashboards"
SENSOR_DAYS = "silver_sensor_events"
PARTITIONED_SILVER = {SENSOR_DAYS, "silver_weather_forecasts"}
SILVER_DAYS = dg.AssetSelection.assets(*PARTITIONED_SILVER, READINGS_REACHING_BACK)
# A gold day reads the sensor days on either side of it (a counter's neighbouring readings, a reading of its
# minutes in a file of the day before or after). Every load of its own day and of the day before rebuilds it; a
# load of the day after only when its new readings reach back into it (`READINGS_REACHING_BACK` of the day after:
# of devices reporting every minute, a live append of today's files leaves yesterday's gold as it is after the
# day's first hour).
DEPENDENCIES_ON_SILVER = {
    SENSOR_DAYS: dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=0, allow_nonexistent_upstream_partitions=True),
    READINGS_REACHING_BACK: dg.TimeWindowPartitionMapping(start_offset=1, end_offset=1,
                                                          allow_nonexistent_upstream_partitions=True),
}
SILVER_LOADED = dg.AutomationCondition.any_deps_match(~dg.AutomationCondition.missing()).allow(SILVER_DAYS)


def daily_automation(daily_models: list[str]) -> dg.AutomationCondition:
    """A gold day is rebuilt when a silver day it reads changes (a correction of an older day included) — not
    when an unpartitioned model (a dimension, a view) is refreshed, which would rebuild every day — and built
    when it is missing while a silver day it reads exists (a run interrupted before it finished). Its
    neighbours' silver days may be missing (the first and last days of data). A silver day being loaded does
    not hold it: silver swaps or appends a day in one transaction, so gold reads a whole day either way; its
    reconciliation with silver is bounded by the silver the run started from, so a load committing while it
    builds does not fail it (docs/gold.md: the bound and its limits); and the load's update requests the day
    again (today's gold goes on while a backfill reloads yesterday).

    A day's daily models wait while any of them is being built for that day, so that they are requested
    together once it is done: one run of the day's models rather than a run per model that happened to be
    free (each paying a run's start and a turn in the gold automation's one run slot)."""
    day_in_progress = functools.reduce(operator.or_, (
        dg.AutomationCondition.asset_matches(name, dg.AutomationCondition.in_progress()) for name in daily_models))
    return (
        (dg.AutomationCondition.any_deps_updated().allow(SILVER_DAYS).since(HANDLED)
         | (dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed()))
        & ~dg.AutomationCondition.any_deps_missing().ignore(SILVER_DAYS)
        & SILVER_LOADED
        & ~dg.AutomationCondition.any_deps_in_progress().ignore(SILVER_DAYS)
        & ~day_in_progress.with_label("a daily model of the day in progress")
    )


# A dashboard view is built when it is missing once every model it reads has at least one day (and the forecasts
# it reads exist), again when its SQL changes, and again when an unpartitioned model it reads is rebuilt (every
# night; a dimension whose columns changed is swapped for a new table, which drops the views on it); never for a
# new day: a view reads every day.
DASHBOARD_AUTOMATION = (
    (dg.AutomationCondition.missing() | dg.AutomationCondition.code_version_changed()
     | dg.AutomationCondition.any_deps_updated().ignore(dg.AssetSelection.tag(DAILY_TAG, "")))
    & dg.AutomationCondition.all_deps_match(~dg.AutomationCondition.missing())
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)


def nightly_automation(reads_silver_days: bool) -> dg.AutomationCondition:
    """The other models are built when missing — once the silver tables they read exist (one loaded day is
    enough) and no silver load is running or queued, so the calendar covers every day already waiting — and every
    night. A model whose build failed is tried again when one of its inputs is updated."""
    ready = (~dg.AutomationCondition.any_deps_missing().ignore(SILVER_DAYS)
             & ~dg.AutomationCondition.any_deps_in_progress())
    if reads_silver_days:
        ready = ready & SILVER_LOADED
    retry = ~dg.AutomationCondition.execution_failed() | dg.AutomationCondition.any_deps_updated()
    return ((dg.AutomationCondition.missing() & retry & ready)
            | dg.AutomationCondition.cron_tick_passed("30 3 * * *", cron_timezone=TIMEZONE)
            ) & ~dg.AutomationCondition.in_progress()


def daily_models(manifest: Mapping[str, Any]) -> list[str]:
    """The names of the assets tagged `daily` (the gold days; not the ephemeral models, which are no asset)."""
    return sorted(node["name"] for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and DAILY_TAG in node.get("tags", [])
                  and node["config"]["materialized"] != "ephemeral")


def silver_days_read(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    """The partitioned silver assets a daily model reads, through staging, intermediate and daily models (the
    readings reaching back of the day after with the sensor days)."""
    found = set()
    for parent in manifest["parent_map"].get(unique_id, []):
        if parent.startswith("source."):
            key = manifest["sources"][parent].get("meta", {}).get("dagster", {}).get("asset_key", [None])[0]
            found |= {key} & PARTITIONED_SILVER
            found |= {READINGS_REACHING_BACK} if key == SENSOR_DAYS else set()
        elif parent.startswith("model."):
            node = manifest["nodes"][parent]
            if {"staging", "intermediate"} & set(node["fqn"]) or DAILY_TAG in node.get("tags", []):
                found |= silver_days_read(manifest, parent)
    return found


class GoldTranslator(DagsterDbtTranslator):
    """Keys are the model names (docs/gold.md#in-dagster); staging and intermediate views in group
    `gold_staging`, the star in `gold`; daily models depend on their silver days directly and follow them."""

    def __init__(self):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True,
                                                               enable_duplicate_source_asset_keys=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id)
        if not node:  # a source: the silver asset itself
            return spec
        daily = DAILY_TAG in node.get("tags", [])
        if DASHBOARDS_TAG in node.get("tags", []):
            return spec.replace_attributes(key=dg.AssetKey(node["name"]), group_name="dashboards",
                                           automation_condition=DASHBOARD_AUTOMATION)
        reads_silver_days = any(dep.asset_key.to_user_string() in PARTITIONED_SILVER for dep in spec.deps)
        spec = spec.replace_attributes(
            key=dg.AssetKey(node["name"]),
            group_name="gold_staging" if {"staging", "intermediate"} & set(node["fqn"]) else "gold",
            automation_condition=(daily_automation(daily_models(manifest)) if daily
                                  else nightly_automation(reads_silver_days)),
        )
        if daily:
            silver = silver_days_read(manifest, unique_id)
            deps = [dep for dep in spec.deps if dep.asset_key.to_user_string() not in silver]
            deps += [dg.AssetDep(key, partition_mapping=DEPENDENCIES_ON_SILVER.get(key)) for key in sorted(silver)]
            spec = spec.replace_attributes(deps=deps)
        return spec
