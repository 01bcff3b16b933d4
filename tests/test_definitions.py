"""The code location: its shape (the stable names the layer pages of docs/ give), and that it loads and runs with
only the documented required variables — in process, and through the `dagster` CLI with the project's dagster.yaml."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill  # a backfill without a daemon

from domotic_assets.automation import AUTOMATION_RUN
from domotic_assets.gold.assets import gold_daily_models
from domotic_assets.governance.device_alerts import GOLD_FACTS
from domotic_assets.ml.assets import FOLLOW_AUTOMATION, GOLD_INPUTS
from domotic_assets.ml.use_cases import USE_CASES
from domotic_assets.silver.store import SENSOR_EVENT_COLUMNS, WEATHER_FORECAST_COLUMNS
from domotic_assets.timing import daily_partitions
from domotic_config.variables import VARIABLES
from tests.whole_platform import whole_platform

ROOT = Path(__file__).resolve().parents[1]
DAGSTER = str(Path(sys.executable).parent / "dagster")

ASSETS = {  # asset key: (group, kinds)
    "bronze_sensor_files": ("bronze", {"smb", "json"}),
    "bronze_weather_files": ("bronze", {"sftp", "csv"}),
    "silver_sensor_events": ("silver", {"polars", "postgres"}),
    "silver_readings_reaching_back": ("silver", set()),
    "silver_weather_forecasts": ("silver", {"polars", "postgres"}),
    "silver_reference_tables": ("silver", {"mysql", "postgres"}),
    **{name: ("gold", {"dbt", "postgres"}) for name in (
        "dim_date", "dim_datetime", "dim_apartment", "dim_apartment_weather_site", "dim_room", "dim_device",
        "dim_weather_site", "dim_tariff", "swiss_holidays", "tariffs", "fact_energy_minute", "fact_environment_minute",
        "fact_presence_minute", "presence_forecast_minute", "fact_device_health_day", "fact_weather_hour",
        "weather_forecast_latest", "house_balance_minute", "energy_cost_day")},
    **{name: ("dashboards", {"dbt", "postgres"}) for name in (
        "dash_energy_day", "dash_device_energy_day", "dash_house_balance_day", "dash_comfort_room_day",
        "dash_occupancy_room_day", "dash_device_health", "dash_layer_freshness", "dash_forecast_window")},
    **{name: ("gold_staging", {"dbt", "postgres"}) for name in (
        "stg_sensor_events", "stg_sensor_days", "stg_weather_forecasts", "stg_buildings", "stg_sensor_errors",
        "stg_file_ledger")},
    **{f"{target}_{step}": ("ml", kinds) for target in ("occupancy", "power") for step, kinds in (
        ("features", {"polars", "postgres"}), ("backtest", {"lightgbm", "scikitlearn"}), ("model", {"lightgbm"}),
        ("forecast", {"postgres"}), ("live_skill", {"postgres"}))},
    "device_health_alerts": ("governance", {"postgres"}),
}
CHECKS = {
    "silver_sensor_events": {"files_accounted_for", "ledger_rows_match_silver", "unique_reading_key", "no_future_timestamps",
                             "rows_per_file_in_range", "outlier_share_below_1_percent"},
    "silver_weather_forecasts": {"files_accounted_for", "unique_forecast_key", "no_target_beyond_horizon",
                                 "outlier_share_below_1_percent"},
    "occupancy_model": {"quality_gates"},
    "power_model": {"quality_gates"},
    "occupancy_live_skill": {"live_skill_holds"},
    "power_live_skill": {"live_skill_holds"},
    "device_health_alerts": {"no_open_device_alerts"},
}
TABLES = {"silver_sensor_events": ("silver.sensor_events", SENSOR_EVENT_COLUMNS),
          "silver_weather_forecasts": ("silver.weather_forecasts", WEATHER_FORECAST_COLUMNS)}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return whole_platform()


@pytest.mark.component
def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)
    assert set(defs.resources) == {"warehouse", "share", "bronze", "sftp", "reference_db", "rules", "dbt", "webhook"}


@pytest.mark.component
def test_the_sources_location_loads_on_its_own_without_dbt_nor_the_ml_libraries():
    """A run of new files imports the `domotic_sources` location only: none of gold's and ML's libraries."""
    heavy = ("dagster_dbt", "dbt", "lightgbm", "sklearn", "domotic_assets.gold", "domotic_assets.ml")
    code = ("import sys, dagster as dg, domotic_assets.sources_definitions as location; "
            "dg.Definitions.validate_loadable(location.defs); "
            f"print(sorted(name for name in sys.modules if name.split('.')[0] in {heavy!r} or name in {heavy!r}))")
    loaded = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() == "[]"


@pytest.mark.component
def test_the_code_location_loads_under_dagster_dev_without_the_venv_on_path():
    """`dagster dev` (DAGSTER_IS_DEV_CLI) must not need `dbt` on PATH: the manifest is prepared beforehand."""
    env = {**os.environ, "DAGSTER_IS_DEV_CLI": "1", "PATH": "/usr/bin:/bin"}
    loaded = subprocess.run([sys.executable, "-c", "import domotic_assets.definitions"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-2000:]


@pytest.mark.component
def test_stable_names_groups_kinds_and_checks(defs):
    graph = defs.resolve_asset_graph()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == set(ASSETS)
    for name, (group, kinds) in ASSETS.items():
        spec = graph.get(dg.AssetKey(name))
        assert spec.group_name == group, name
        assert spec.kinds == kinds, name
    for name, checks in CHECKS.items():
        assert {key.name for key in graph.get_check_keys_for_assets({dg.AssetKey(name)})} == checks, name
    # the dashboards' views are built when missing or changed, never for a new gold day
    assert graph.get(dg.AssetKey("dash_energy_day")).partitions_def is None
    assert {job.name for job in defs.jobs} == {"sensor_files_job", "weather_files_job", "gdpr_export_job",
                                                 "gdpr_erase_job", "bronze_retention_job"}
    assert {sensor.name for sensor in defs.sensors} == {"smb_sensor_files_sensor", "sftp_weather_files_sensor",
                                                        "reference_tables_automation_sensor", "gold_automation_sensor",
                                                        "ml_automation_sensor", "run_failure_alert_sensor",
                                                        "freshness_alert_sensor", "sources_freshness_alert_sensor"}
    assert {schedule.name for schedule in defs.schedules} == {"daily_weather_schedule", "bronze_retention_schedule"}


@pytest.mark.component
def test_the_run_queue_keeps_the_gold_automation_to_one_run_by_its_sensor_s_name(defs):
    """`dagster.yaml` limits the gold automation's runs through their tag `dagster/sensor_name`: the value must be
    the sensor that targets gold, or renaming the sensor would lift the limit without a word."""
    limits = yaml.safe_load((ROOT / "dagster.yaml").read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    [limit] = [limit for limit in limits if limit["key"] == "dagster/sensor_name"]
    sensor = defs.resolve_sensor_def(limit["value"])
    assert dg.AssetKey("fact_energy_minute") in sensor.asset_selection.resolve(defs.resolve_asset_graph())
    assert limit["limit"] == 1


@pytest.mark.component
def test_silver_assets_name_their_table_and_columns(defs):
    graph = defs.resolve_asset_graph()
    for name, (table, columns) in TABLES.items():
        metadata = graph.get(dg.AssetKey(name)).metadata
        assert metadata["dagster/table_name"] == table
        shown = {c.name: (c.type, c.description) for c in metadata["dagster/column_schema"].columns}
        assert shown == columns


@pytest.mark.component
def test_every_variable_is_declared_once():
    names = [variable.name for variable in VARIABLES]
    assert len(names) == len(set(names))
    for variable in VARIABLES:
        assert variable.meaning and variable.group
        assert variable.default is not None or variable.fallback or variable.required, variable.name


def minimal_environment(**variables: str) -> dict[str, str]:
    """Only what a shell has plus the given variables: no platform variable leaks in from the caller."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE") if k in os.environ}
    return {**keep, **variables}


@pytest.mark.integration
def test_the_documented_range_backfill_runs_with_only_the_required_variables(settings, generated, postgres, tmp_path):
    """The documented range command (docs/operations.md), on the test data's days, from another folder and
    without PYTHONPATH: three days of silver are parsed by worker processes, which import the installed project."""
    env = minimal_environment(SMB_PATH=settings["SMB_PATH"], BRONZE_ROOT=str(tmp_path / "bronze"),
                              DB_URL=settings["DB_URL"])
    for asset in ("bronze_sensor_files", "silver_sensor_events"):
        result = subprocess.run([DAGSTER, "asset", "materialize", "-m", "domotic_assets.sources_definitions",
                                 "--select", asset, "--partition-range", "2023-10-28...2023-10-30"],
                                cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "RUN_SUCCESS" in result.stdout + result.stderr, asset
    assert list((tmp_path / "bronze").rglob("*.json"))
    with psycopg2.connect(settings["DB_URL"].replace("postgresql+psycopg2", "postgresql")) as connection, \
            connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT partition_date) FROM silver.sensor_events "
                       "WHERE partition_date BETWEEN '2023-10-28' AND '2023-10-30'")
        assert cursor.fetchone() == (3,)


@pytest.mark.integration
def test_dagster_cli_validates_the_workspace(settings, postgres):
    env = {**os.environ, **settings.env}
    env.pop("DAGSTER_HOME")  # the CLI then uses ./dagster.yaml with a temporary home
    result = subprocess.run([DAGSTER, "definitions", "validate", "-w", "workspace.yaml"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def instance_with_unpartitioned_assets(defs) -> dg.DagsterInstance:
    """An ephemeral instance where every unpartitioned asset (seeds, dimensions, views) is materialised."""
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if graph.get(key).partitions_def is None:
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
    return instance


@pytest.mark.component
def test_a_gold_day_missing_while_a_silver_day_it_reads_exists_is_requested_until_built(defs):
    """A gold day reads the sensor days either side of it: requested when one of them lands (a first load reaches
    back into the day before), and again on later ticks while it is still missing (a run that was interrupted),
    but never for days further from silver."""
    instance = instance_with_unpartitioned_assets(defs)
    for name in ("silver_sensor_events", "silver_readings_reaching_back", "silver_weather_forecasts"):
        instance.report_runless_asset_event(dg.AssetMaterialization(name, partition="2023-10-02"))
    fact = dg.AssetSelection.assets("fact_presence_minute")
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=fact)
    later = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=fact, cursor=first.cursor)
    for tick in (first, later):
        [result] = [r for r in tick.results if r.true_subset.size]
        assert result.true_subset.expensively_compute_partition_keys() == {"2023-10-01", "2023-10-02", "2023-10-03"}


@pytest.mark.component
def test_a_sensor_day_rebuilds_the_gold_day_before_it_only_when_its_new_readings_reach_back(defs):
    """Gold days built; then the silver day 2023-10-03 is appended to (a new file): the gold days that read its
    readings, 2023-10-03 and 2023-10-04, are requested. Then new readings of 2023-10-03 that reach back into
    2023-10-02 are recorded (a reload, or readings among the day's first): 2023-10-02 is requested too. Never
    2023-10-01 nor 2023-10-05."""
    instance = instance_with_unpartitioned_assets(defs)
    days = [f"2023-10-0{day}" for day in range(1, 6)]
    for day in days:
        for name in ("silver_sensor_events", "silver_readings_reaching_back"):
            instance.report_runless_asset_event(dg.AssetMaterialization(name, partition=day))
    fact = dg.AssetSelection.assets("fact_energy_minute")
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=fact).cursor
    for day in ["2023-09-30", *days, "2023-10-06"]:  # with the neighbours of the first and last silver days
        instance.report_runless_asset_event(dg.AssetMaterialization("fact_energy_minute", partition=day))
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=fact, cursor=cursor).cursor
    requested = []
    for loaded in (["silver_sensor_events"], ["silver_sensor_events", "silver_readings_reaching_back"]):
        for name in loaded:
            instance.report_runless_asset_event(dg.AssetMaterialization(name, partition="2023-10-03"))
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=fact, cursor=cursor)
        cursor = tick.cursor
        [result] = [r for r in tick.results if r.true_subset.size]
        requested.append(result.true_subset.expensively_compute_partition_keys())
    assert requested == [{"2023-10-03", "2023-10-04"}, {"2023-10-02"}]


@pytest.mark.component
def test_gold_follows_a_silver_day_while_the_days_beside_it_are_being_loaded(defs):
    """While a backfill reloads the silver days 2023-10-01 and 2023-10-02, a live file lands on 2023-10-03: the
    gold days that read it (2023-10-03 and 2023-10-04) are built at once, not after the backfill (a silver day
    swaps in one transaction, the reconciliation with silver is bounded by the silver a run started from, and the
    backfill's update requests them again). A backfill that selects the gold facts too holds the gold days it
    targets, today's included when it reloads yesterday (Dagster's partition mapping)."""
    instance = instance_with_unpartitioned_assets(defs)
    days = [f"2023-10-0{day}" for day in range(1, 5)]
    fact = dg.AssetSelection.assets("fact_energy_minute")
    for day in days:
        instance.report_runless_asset_event(dg.AssetMaterialization("silver_sensor_events", partition=day))
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=fact).cursor
    for day in ["2023-09-30", *days, "2023-10-05"]:
        instance.report_runless_asset_event(dg.AssetMaterialization("fact_energy_minute", partition=day))
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=fact, cursor=cursor).cursor
    instance.add_backfill(PartitionBackfill.from_asset_partitions(
        backfill_id="reload", asset_graph=defs.resolve_asset_graph(), partition_names=days[:2],
        asset_selection=[dg.AssetKey("silver_sensor_events")],
        backfill_timestamp=time.time(), tags={}, dynamic_partitions_store=instance, all_partitions=False,
        title=None, description=None, run_config=None))
    instance.report_runless_asset_event(dg.AssetMaterialization("silver_sensor_events", partition=days[2]))
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=fact, cursor=cursor)
    [result] = [r for r in tick.results if r.true_subset.size]
    assert result.true_subset.expensively_compute_partition_keys() == {"2023-10-03", "2023-10-04"}


SENSOR_DAY_MODELS = {"fact_energy_minute", "fact_environment_minute", "fact_presence_minute", "fact_device_health_day",
                     "house_balance_minute", "energy_cost_day", "presence_forecast_minute"}


def gold_days_built(defs):
    """An instance with silver days 2023-10-01..05 and every daily model built on them and their neighbours, and
    the automation's next tick over the daily models: a function returning the models requested, by day."""
    instance = instance_with_unpartitioned_assets(defs)
    graph = defs.resolve_asset_graph()
    days = [f"2023-10-0{day}" for day in range(1, 6)]
    daily = [key for key in graph.get_all_asset_keys() if "daily" in graph.get(key).tags
             and graph.get(key).partitions_def is not None]
    gold = dg.AssetSelection.assets(*daily)
    for day in days:
        for name in ("silver_sensor_events", "silver_readings_reaching_back", "silver_weather_forecasts"):
            instance.report_runless_asset_event(dg.AssetMaterialization(name, partition=day))
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=gold).cursor
    for key in daily:
        for day in ["2023-09-30", *days, "2023-10-06"]:
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=day))

    def requested_by_day() -> dict[str, set[str]]:
        nonlocal cursor
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=gold, cursor=cursor)
        cursor = tick.cursor
        found: dict[str, set[str]] = {}
        for result in tick.results:
            for day in result.true_subset.expensively_compute_partition_keys():
                found.setdefault(day, set()).add(result.key.to_user_string())
        return found

    return instance, requested_by_day


@pytest.mark.component
def test_a_day_s_daily_models_wait_for_each_other_and_are_requested_together(defs):
    """Gold days built; `fact_energy_minute` of 2023-10-03 is being built (a backfill of that model alone) when a
    new file lands on 2023-10-03. No daily model of 2023-10-03 is requested while it builds (the day after, which
    reads that sensor day too, is); once it is done, the day's other models that read sensor days are requested in
    the same tick (one run), not the ones that happened to be free while it built. (Its own build counts as having
    handled the update, as Dagster's `since_last_handled` does.)"""
    instance, requested_by_day = gold_days_built(defs)
    assert requested_by_day() == {}
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id="one_model", asset_graph=defs.resolve_asset_graph(), partition_names=["2023-10-03"],
        asset_selection=[dg.AssetKey("fact_energy_minute")], backfill_timestamp=time.time(), tags={},
        dynamic_partitions_store=instance, all_partitions=False, title=None, description=None, run_config=None)
    instance.add_backfill(backfill)
    instance.report_runless_asset_event(dg.AssetMaterialization("silver_sensor_events", partition="2023-10-03"))
    assert requested_by_day() == {"2023-10-04": SENSOR_DAY_MODELS}
    assert requested_by_day() == {}  # still building
    instance.update_backfill(backfill.with_status(BulkActionStatus.COMPLETED_SUCCESS))
    instance.report_runless_asset_event(dg.AssetMaterialization("fact_energy_minute", partition="2023-10-03"))
    assert requested_by_day() == {"2023-10-03": SENSOR_DAY_MODELS - {"fact_energy_minute"}}


def build_in_a_run(instance: dg.DagsterInstance, names, day: str, tags: dict[str, str]) -> None:
    """Materialise the assets `names` of `day` in a run with `tags` on `instance`, the run selecting them as the
    automation's runs do (stand-ins that compute nothing: what the automation reads is the run)."""
    stand_ins = [dg.asset(name=name, partitions_def=daily_partitions)(lambda: None) for name in sorted(names)]
    job = dg.Definitions(assets=stand_ins, jobs=[dg.define_asset_job("run", selection=stand_ins)]).resolve_job_def("run")
    assert job.execute_in_process(instance=instance, partition_key=day, tags=tags,
                                  asset_selection=[dg.AssetKey(name) for name in names]).success


@pytest.mark.component
@pytest.mark.parametrize(("run_tags", "requested_again"), [({AUTOMATION_RUN: "true"}, True), ({}, False)])
def test_a_silver_append_during_an_automation_run_of_its_gold_day_requests_the_day_again(defs, run_tags,
                                                                                          requested_again):
    """Gold days built; a new file on 2023-10-03 requests its gold day; another file lands while that run builds.
    A run the automation launched read silver as it started, so its build does not handle the second file: the
    day is requested again once it is done. A run the automation did not launch (a backfill, the UI) handles
    what came before its build, as Dagster's `since_last_handled` does."""
    instance, requested_by_day = gold_days_built(defs)
    assert requested_by_day() == {}
    instance.report_runless_asset_event(dg.AssetMaterialization("silver_sensor_events", partition="2023-10-03"))
    assert "fact_energy_minute" in requested_by_day()["2023-10-03"]  # the run
    assert requested_by_day() == {}  # requested: handled
    instance.report_runless_asset_event(dg.AssetMaterialization("silver_sensor_events", partition="2023-10-03"))
    for day in ("2023-10-03", "2023-10-04"):  # the run builds after the second file has landed
        build_in_a_run(instance, SENSOR_DAY_MODELS, day, run_tags)
    again = {day for day, names in requested_by_day().items() if "fact_energy_minute" in names}
    assert again == ({"2023-10-03", "2023-10-04"} if requested_again else set())


@pytest.mark.component
def test_device_health_alerts_follow_their_gold_day_not_the_dimensions(defs):
    """A gold day of both facts updated: that day's alerts are requested, once; a nightly refresh of the
    dimensions alone requests none."""
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    alerts = dg.AssetSelection.assets("device_health_alerts")
    parents = graph.get(dg.AssetKey("device_health_alerts")).parent_keys
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=alerts).cursor
    requested = []
    for step in ("gold day", "nothing new", "dimensions"):
        for key in parents:
            partitioned = graph.get(key).partitions_def is not None
            if step == "gold day" or (step == "dimensions" and not partitioned):
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(key, partition="2023-10-03" if partitioned else None))
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=alerts, cursor=cursor)
        cursor = tick.cursor
        requested.append({key for r in tick.results for key in r.true_subset.expensively_compute_partition_keys()}
                         if any(r.true_subset.size for r in tick.results) else set())
    assert requested == [{"2023-10-03"}, set(), set()]


@pytest.mark.component
@pytest.mark.parametrize(("runs", "run_tags", "requested_again"), [
    ([[*GOLD_FACTS, "device_health_alerts"]], {AUTOMATION_RUN: "true"}, False),  # the automation's run of both
    ([GOLD_FACTS, ["device_health_alerts"]], {AUTOMATION_RUN: "true"}, True),  # the facts rebuilt meanwhile
    ([GOLD_FACTS, ["device_health_alerts"]], {}, False),  # the alerts run from the UI
    ([GOLD_FACTS, ["device_health_alerts"]], {AUTOMATION_RUN: "true", "dagster/backfill": "days"}, False),
])
def test_device_health_alerts_are_requested_again_when_their_gold_day_changes_while_they_run(defs, runs, run_tags,
                                                                                            requested_again):
    """A gold day's inputs updated: its alerts are requested. If the run that builds them also builds the day's
    facts, it read them: nothing more. If the facts are rebuilt by another run while the automation's run of the
    alerts goes, the alerts are requested again; a run the automation did not launch (the UI) handles what came
    before it, and so does a backfill's (the automation's backfill of several days builds the facts in one run and
    each day's alerts in another, after it)."""
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    alerts = dg.AssetSelection.assets("device_health_alerts")
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=alerts).cursor
    for key in graph.get(dg.AssetKey("device_health_alerts")).parent_keys:
        partitioned = graph.get(key).partitions_def is not None
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="2023-10-03" if partitioned else None))

    def requested() -> set[str]:
        nonlocal cursor
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=alerts, cursor=cursor)
        cursor = tick.cursor
        return {day for result in tick.results for day in result.true_subset.expensively_compute_partition_keys()}

    assert requested() == {"2023-10-03"}
    assert requested() == set()  # requested: handled
    for names in runs:
        build_in_a_run(instance, names, "2023-10-03", run_tags)
    assert requested() == ({"2023-10-03"} if requested_again else set())


@pytest.mark.component
def test_ml_features_wait_while_a_blocking_gold_check_has_failed(defs):
    """The gold facts updated with a failed error-severity dbt test: no features; rebuilt and passing: features."""
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    features = dg.AssetSelection.assets("occupancy_features")
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=features).cursor
    check = next(spec for spec in gold_daily_models.check_specs
                 if spec.asset_key == dg.AssetKey("fact_presence_minute") and spec.blocking)
    requested = []
    for passed in (False, True):
        for key in graph.get(dg.AssetKey("occupancy_features")).parent_keys:
            partition = "2023-10-02" if graph.get(key).partitions_def else None
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=check.asset_key, check_name=check.name, passed=passed, severity=dg.AssetCheckSeverity.ERROR))
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=features, cursor=cursor)
        cursor = tick.cursor
        requested.append(tick.total_requested)
    assert requested == [0, 1]


@pytest.mark.component
def test_gold_views_on_silver_wait_for_a_loaded_silver_day(defs):
    """On a fresh install the staging views on silver are not built before silver has a day (they would fail,
    and a failed model waits for new input); the seeds, reading nothing, are built at once."""
    instance = dg.DagsterInstance.ephemeral()
    staging = dg.AssetSelection.groups("gold_staging")
    gold = staging | dg.AssetSelection.groups("gold")

    def requested(cursor=None):
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=gold, cursor=cursor)
        return {r.key.to_user_string() for r in tick.results if r.true_subset.size}, tick.cursor

    on_sensor_events = {"stg_sensor_events", "stg_sensor_days", "stg_file_ledger"}
    before, cursor = requested()
    assert {"tariffs", "swiss_holidays"} <= before and not before & on_sensor_events
    instance.report_runless_asset_event(dg.AssetMaterialization("silver_sensor_events", partition="2023-10-02"))
    after, _ = requested(cursor)
    assert on_sensor_events <= after and "stg_weather_forecasts" not in after


@pytest.mark.component
def test_a_dashboard_view_is_built_once_its_tables_have_a_day_and_not_again_for_a_new_day(defs):
    """`dash_energy_day` waits until every model it reads exists (a day of the daily ones), is requested once,
    and a new gold day does not request it again (the view reads every day); a rebuild of the dimensions does
    (a dimension whose columns changed is swapped for a new table, which drops the views on it)."""
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    view = dg.AssetKey("dash_energy_day")
    selection = dg.AssetSelection.assets(view)

    def requested(cursor):
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection, cursor=cursor)
        return tick.total_requested, tick.cursor

    def materialise(keys, partition):
        for key in keys:
            part = partition if graph.get(key).partitions_def else None
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=part))

    parents = sorted(graph.get(view).parent_keys)
    count, cursor = requested(None)
    assert count == 0  # nothing built yet
    materialise(parents[:-1], "2023-10-02")
    count, cursor = requested(cursor)
    assert count == 0  # one of the models it reads is still missing
    materialise(parents[-1:], "2023-10-02")
    count, cursor = requested(cursor)
    assert count == 1
    instance.report_runless_asset_event(dg.AssetMaterialization(view))
    days, dimensions = [[key for key in parents if (graph.get(key).partitions_def is None) == unpartitioned]
                        for unpartitioned in (False, True)]
    materialise(days, "2023-10-03")  # a new gold day
    count, cursor = requested(cursor)
    assert count == 0
    materialise(dimensions, None)  # the nightly rebuild of the dimensions
    count, cursor = requested(cursor)
    assert count == 1


@pytest.mark.unit
def test_silver_is_read_through_staging_only():
    """Only the staging models call source(), and every silver table declared as a source has its staging model."""
    models = ROOT / "dbt_project" / "models"
    calls = {path.relative_to(models).as_posix(): re.findall(r"source\(\s*'(\w+)'\s*,\s*'(\w+)'\s*\)", path.read_text())
             for path in models.rglob("*.sql")}
    assert [path for path, read in calls.items() if read and not path.startswith("staging/")] == []
    sources = yaml.safe_load((models / "staging" / "_staging.yml").read_text())["sources"]
    declared = {(source["name"], table["name"]) for source in sources for table in source["tables"]}
    assert {table for read in calls.values() for table in read} == declared


@pytest.mark.component
def test_every_layer_has_a_freshness_policy(defs):
    graph = defs.resolve_asset_graph()
    without = {key.to_user_string() for key in graph.materializable_asset_keys
               if graph.get(key).freshness_policy is None
               and graph.get(key).group_name not in ("gold_staging", "dashboards")}  # views: their tables' freshness
    assert without == set()
    policy = {name: graph.get(dg.AssetKey(name)).freshness_policy for name in
              ("silver_sensor_events", "silver_weather_forecasts", "fact_energy_minute", "occupancy_forecast")}
    assert policy["silver_sensor_events"].fail_window.to_timedelta().total_seconds() <= 3600
    assert policy["silver_weather_forecasts"].deadline_cron == "0 8 * * *"
    assert policy["fact_energy_minute"] != policy["silver_sensor_events"]
    assert policy["occupancy_forecast"].deadline_cron.endswith("* * *")


@pytest.mark.component
def test_ml_features_wait_until_every_gold_input_has_a_day(defs):
    """Requested once every input has a day, and still on a later tick with no new update (a range backfill
    reports its facts one by one: the last update may come while another fact is still in progress)."""
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    features = dg.AssetSelection.assets("occupancy_features")
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=features).cursor
    requested = []
    for partitioned in (False, True, None):  # the dimensions, then a day of each fact, then nothing new
        for key in graph.get(dg.AssetKey("occupancy_features")).parent_keys:
            if bool(graph.get(key).partitions_def) == partitioned:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(key, partition="2023-10-02" if partitioned else None))
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=features, cursor=cursor)
        cursor = tick.cursor
        requested.append(tick.total_requested)
    assert requested == [0, 1, 1]


@pytest.mark.component
@pytest.mark.parametrize("gate_passes", [False, True])
def test_a_forecast_skipped_by_its_model_s_failed_gate_follows_once_and_only_once(gate_passes):
    """Failed gate: the forecast, skipped in the model's run, is requested once afterwards (to publish the
    baseline). Passed gate: the forecast ran in the model's run and is not requested again."""
    @dg.asset(automation_condition=FOLLOW_AUTOMATION,
              check_specs=[dg.AssetCheckSpec("gate", asset="model", blocking=True)])
    def model():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="gate", passed=gate_passes, severity=dg.AssetCheckSeverity.ERROR)

    @dg.asset(deps=[model], automation_condition=FOLLOW_AUTOMATION)
    def forecast():
        return None

    defs = dg.Definitions(assets=[model, forecast])
    instance = dg.DagsterInstance.ephemeral()
    requested, cursor = [], None
    for _tick in range(3):
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        cursor = tick.cursor
        keys = sorted(r.key.to_user_string() for r in tick.results if r.true_subset.size)
        requested.append(keys)
        if keys:
            dg.materialize([model, forecast], selection=keys, instance=instance, raise_on_error=False)
    assert requested == [["forecast", "model"], [] if gate_passes else ["forecast"], []]


@pytest.mark.unit
def test_the_ml_exposures_name_what_the_ml_assets_read():
    """The dbt exposures of the forecasts list exactly the gold tables the features asset depends on."""
    exposures = yaml.safe_load((ROOT / "dbt_project/models/marts/_exposures.yml").read_text(encoding="utf-8"))
    ml = [exposure for exposure in exposures["exposures"] if exposure["type"] == "ml"]
    assert {exposure["name"] for exposure in ml} == {f"{use_case.name}_forecast" for use_case in USE_CASES}
    for exposure in ml:
        assert {ref.removeprefix("ref('").removesuffix("')") for ref in exposure["depends_on"]} == set(GOLD_INPUTS)


@pytest.mark.component
def test_the_calendar_and_the_sensor_facts_do_not_wait_for_the_weather(defs):
    """Sensor and reference silver, no weather (its sFTP server unreachable since the start): tick after tick, the automation
    builds the staging views, the calendar and dimensions, then the sensor facts of the day; only the weather
    marts wait for the weather."""
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    gold = dg.AssetSelection.groups("gold_staging") | dg.AssetSelection.groups("gold")
    instance.report_runless_asset_event(dg.AssetMaterialization("silver_sensor_events", partition="2023-10-02"))
    instance.report_runless_asset_event(dg.AssetMaterialization("silver_reference_tables"))
    built, cursor = set(), None
    for _ in range(6):  # each tick's requests succeed before the next tick
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=gold, cursor=cursor)
        cursor = tick.cursor
        for result in tick.results:
            if result.true_subset.size:
                partitioned = graph.get(result.key).partitions_def is not None
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(result.key, partition="2023-10-02" if partitioned else None))
                built.add(result.key.to_user_string())
    assert {"dim_date", "dim_datetime", "fact_energy_minute", "fact_presence_minute", "fact_environment_minute",
            "fact_device_health_day"} <= built
    assert not built & {"stg_weather_forecasts", "fact_weather_hour", "weather_forecast_latest"}
