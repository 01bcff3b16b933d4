"""The dbt models as three assets: the daily-partitioned incremental facts, the dashboards' views on them, and
everything else (seeds, staging views, dimensions). dbt tests are their asset checks."""

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, dbt_assets

from domotic_assets.gold.project import InstalledDbtCliResource, dbt_project, parse_for_connection
from domotic_assets.gold.translator import GoldTranslator
from domotic_assets.silver import store
from domotic_assets.timing import daily_partitions
from resources.postgres import PostgresResource

DAILY_MODELS = "tag:daily"
DASHBOARD_VIEWS = "tag:dashboards"
ENERGY_FACT = "fact_energy_minute"
# The facts a live run rebuilds from the earliest minute its new readings change (dbt var rebuild_from).
MINUTE_FACTS = (ENERGY_FACT, "fact_environment_minute", "fact_presence_minute")
INSERTED = re.compile(r"INSERT (?:0 )?(\d+)")


class GoldBuildConfig(dg.Config):
    full_refresh: bool = False
    """Rebuild the models from scratch (`dbt build --full-refresh`) instead of replacing the window."""
    whole_days: bool = False
    """Rebuild the minute facts of the window's days whole, even where silver's loads recorded that their new
    readings change a day only from a later minute (a live run's default, docs/gold.md)."""


def dbt_build(context: dg.AssetExecutionContext, dbt: InstalledDbtCliResource, warehouse: PostgresResource,
              config: GoldBuildConfig, dbt_vars: dict | None = None, recorded: dict | None = None):
    """`dbt build` of the selected models; on every table materialisation the rows dbt wrote (the row count of
    an unpartitioned table or of a one-day partition rebuilt whole), on the minute facts the instant they were
    rebuilt from (`rebuilt_from`), on the energy fact the minutes of the window per adjustment rule, and on every
    materialisation the `recorded` metadata."""
    environment = warehouse.dbt_environment()
    os.environ.update(environment)  # profiles.yml reads the connection from the environment
    parse_for_connection(environment)
    # dbt unit tests check the models' logic, not the data: they run in the test suite (tests/test_gold.py).
    # A test runs with the models it reads once they are built ("buildable"): a fact's relationship tests run
    # with the fact (its dimensions are its ancestors), not with the dimensions before the fact exists.
    # No manifest.json or run_results.json in the run's target folder (0.6 s a run): the events stream to Dagster.
    # dbt.log at info level: its debug lines (every statement and connection event) cost about 0.35 s a day's run;
    # each node's main statement stays in the run's compiled/ and run/ folders.
    args = ["build", "--exclude-resource-type", "unit_test", "--indirect-selection", "buildable", "--no-write-json",
            "--log-level-file", "info"]
    args += ["--vars", json.dumps(dbt_vars)] if dbt_vars else []
    args += ["--full-refresh"] if config.full_refresh else []
    one_day = dbt_vars is None or len(context.partition_keys) == 1  # the rows written are the asset's, if whole
    rebuilt_from = (dbt_vars or {}).get("rebuild_from")
    run = dbt.invoke(args, context=context)
    runner = "dbt's command line" if isinstance(run, DbtCliInvocation) else "in process"
    context.log.info(f"Running dbt {' '.join(args)} ({runner})")
    for dbt_event in run.stream_raw_events():
        written = rows_written(dbt_event.raw_event)
        for event in dbt_event.to_default_asset_events(
                manifest=run.manifest, dagster_dbt_translator=run.dagster_dbt_translator,
                context=context, target_path=run.target_path, project=run.project):
            if isinstance(event, dg.Output):
                extra: dict[str, Any] = dict(recorded or {})
                minute_fact = event.output_name in MINUTE_FACTS and dbt_vars is not None
                if minute_fact:
                    extra["rebuilt_from"] = rebuilt_from or "whole days"
                if written is not None:
                    whole = one_day and not (minute_fact and rebuilt_from)
                    extra |= {"rows_written": written, **({"dagster/row_count": written} if whole else {})}
                if event.output_name == ENERGY_FACT and dbt_vars:
                    extra["energy_adjustments"] = energy_adjustments(warehouse, dbt_vars)
                event = event.with_metadata({**event.metadata, **extra})
            yield event
    # Every run has a target folder of its own (dbt.log, compiled SQL); a successful run removes it, a failed
    # one keeps it for inspection (its path is in the run's error).
    shutil.rmtree(run.target_path, ignore_errors=True)


def rows_written(raw_event: dict) -> int | None:
    """The rows a dbt model or seed inserted (a table's rows, an incremental model's window), from the
    PostgreSQL command tag in its result line (`INSERT 0 <rows>`, a seed's `INSERT <rows>`); None for views,
    tests and other events."""
    status = raw_event["data"].get("status")
    inserted = INSERTED.fullmatch(status) if isinstance(status, str) else None
    return int(inserted[1]) if inserted else None


def energy_adjustments(warehouse: PostgresResource, window: dict) -> dict[str, int]:
    """Minutes of the window's energy per adjustment rule (gap_spread, reset, glitch, …)."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(adjustment, 'none'), count(*) FROM gold.fact_energy_minute "
                       "WHERE date_key >= %s AND date_key < %s GROUP BY 1",
                       (int(window["min_date"].replace("-", "")), int(window["max_date"].replace("-", ""))))
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class SilverStart:
    """The silver a gold run starts from: a snapshot, and the changes recorded for its days in it."""

    snapshot: str
    changes: store.GoldDayChanges


def silver_start(warehouse: PostgresResource, days: list[date], facts: Sequence[str]) -> SilverStart:
    """The silver a run of `days` (of its minute `facts`) starts from, taken between writes of the sensor days its
    window reads (a day either side): all of it must be in the facts, while loads committed later may be (dbt var
    `silver_snapshot`, the reconciliation's bound); and the changes loads recorded for its days until then."""
    read = [days[0] - timedelta(days=1), *days, days[-1] + timedelta(days=1)]
    with store.between_writes(warehouse, "silver.sensor_events", read) as cursor:
        return SilverStart(store.current_snapshot(cursor), store.gold_day_changes(cursor, days, facts))


def refuse_partial_full_refresh(keys: Sequence[str], every_key: Sequence[str]) -> None:
    """`full_refresh` recreates the fact tables with the run's days only: on fewer than every day it would wipe
    the others, so it is refused before dbt runs. A run of every day launched before midnight and running after
    it (a new partition has appeared meanwhile) is let through."""
    if keys[0] != every_key[0] or keys[-1] < every_key[-2]:
        raise dg.Failure(
            description=f"full_refresh recreates the fact tables with the run's days only ({keys[0]} to {keys[-1]}), "
                        f"which would delete every other day: run it as a backfill of every partition "
                        f"({every_key[0]} to {every_key[-1]}, one run), or without full_refresh to rebuild these days",
            allow_retries=False)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, select=DAILY_MODELS,
            partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run(),
            dagster_dbt_translator=GoldTranslator(), name="gold_daily_models")
def gold_daily_models(context: dg.AssetExecutionContext, dbt: InstalledDbtCliResource, warehouse: PostgresResource,
                      config: GoldBuildConfig):
    """Gold facts, one local day per partition (a range runs as one dbt build over its window)."""
    if config.full_refresh:
        refuse_partial_full_refresh(context.partition_keys, daily_partitions.get_partition_keys())
    days = [date.fromisoformat(key) for key in context.partition_keys]
    facts = sorted(key.path[-1] for key in context.selected_asset_keys if key.path[-1] in MINUTE_FACTS)
    start = silver_start(warehouse, days, facts)
    rebuild_from = None if config.full_refresh or config.whole_days else start.changes.rebuild_from
    dbt_vars = {"min_date": days[0].isoformat(), "max_date": (days[-1] + timedelta(days=1)).isoformat(),
                "silver_snapshot": start.snapshot, **({"rebuild_from": rebuild_from.isoformat()} if rebuild_from else {})}
    built = f"from {rebuild_from.isoformat()}, the earliest minute new readings change" if rebuild_from else "whole"
    minute_facts = f", minute facts {built}" if facts else ""
    context.log.info(f"dbt build of the days [{dbt_vars['min_date']}, {dbt_vars['max_date']}){minute_facts}")
    try:
        yield from dbt_build(context, dbt, warehouse, config, dbt_vars, {"silver_snapshot": start.snapshot})
    except Exception:
        store.forget_gold_day_builds(warehouse, days, facts)
        raise
    store.record_gold_day_builds(warehouse, days, facts, start.changes, MINUTE_FACTS)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, select=DASHBOARD_VIEWS,
            dagster_dbt_translator=GoldTranslator(), name="gold_dashboard_views")
def gold_dashboard_views(context: dg.AssetExecutionContext, dbt: InstalledDbtCliResource, warehouse: PostgresResource,
                         config: GoldBuildConfig):
    """The dashboards' views on gold (docs/dashboards.md): built once the tables they read exist and again when
    their SQL changes; a gold day never rebuilds them."""
    yield from dbt_build(context, dbt, warehouse, config)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, exclude=f"{DAILY_MODELS} {DASHBOARD_VIEWS}",
            dagster_dbt_translator=GoldTranslator(), name="gold_models")
def gold_models(context: dg.AssetExecutionContext, dbt: InstalledDbtCliResource, warehouse: PostgresResource,
                config: GoldBuildConfig):
    """Seeds, staging views and the dimensions of the star (unpartitioned)."""
    yield from dbt_build(context, dbt, warehouse, config)
