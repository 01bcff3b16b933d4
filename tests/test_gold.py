"""Gold with dbt through Dagster against the real PostgreSQL, in a database of its own: the star builds with
its checks green, and its measures agree with independent computations from silver (energy per plug and
day from the counter, uptime, the weather as-of rule, DST days); a range build equals day-by-day builds; BI
roles see only their apartments; GDPR export and erasure on a copy of the built warehouse."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import psycopg2
import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from domotic_assets.gold.assets import (
    ENERGY_FACT,
    MINUTE_FACTS,
    gold_daily_models,
    gold_dashboard_views,
    gold_models,
    silver_start,
)
from domotic_assets.gold.dbt_files import project_files_digest
from domotic_assets.gold.project import DBT_EXECUTABLE, DBT_PROJECT_DIR, gold_dbt
from domotic_assets.governance.apartment_data import apartment_tables, count_rows
from domotic_assets.governance.device_alerts import (
    BATTERY_LOW_PCT,
    REPORTING_UPTIME_PCT,
    SILENT_UPTIME_PCT,
    STUCK_MINUTES,
    device_health_alerts,
)
from domotic_assets.governance.gdpr import gdpr_erase_job, gdpr_export_job
from domotic_assets.ml import store
from domotic_assets.silver import store as silver_store
from domotic_assets.silver.reaching_back import gold_change
from domotic_assets.silver.reference import silver_reference_tables
from domotic_ops.procs import free_port
from resources.alerts import AlertWebhookResource
from resources.bronze import DEFAULT_APARTMENTS, BronzeResource
from resources.postgres import PostgresResource
from resources.reference_db import ReferenceDatabaseResource
from resources.smb import SMBShareResource
from sensors_io.sensor_copy import copy_day
from tests.gold_build import DAYS, build

pytestmark = pytest.mark.integration
ZURICH = ZoneInfo("Europe/Zurich")


def failed_checks(results) -> list[str]:
    return [f"{c.asset_key.to_user_string()}.{c.check_name}" for r in results
            for c in r.get_asset_check_evaluations() if not c.passed]


def query(warehouse: PostgresResource, text: str, params=()) -> list[tuple]:
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(text, params)
        return cursor.fetchall()


def execute(warehouse: PostgresResource, text: str, params=()) -> None:
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(text, params)


def test_the_star_builds_with_every_check_green(built):
    """Every dbt test of the three gold assets runs as its asset check, and passes."""
    assert failed_checks(built) == []
    checks = {f"{c.asset_key.to_user_string()}.{c.check_name}" for r in built for c in r.get_asset_check_evaluations()}
    assert checks == {f"{spec.asset_key.to_user_string()}.{spec.name}"
                      for assets in (gold_models, gold_daily_models, gold_dashboard_views) for spec in assets.check_specs}
    # the reconciliation tests read more than their fact: checks of the fact they name (meta.dagster.ref)
    assert {"fact_environment_minute.environment_readings_land_in_facts",
            "fact_energy_minute.plug_energy_counter_matches_power",
            "house_balance_minute.house_meter_covers_its_devices"} <= checks


def test_dbt_unit_tests_pass(warehouse, built, monkeypatch):
    """The counter rules, DST and tariff unit tests (left out of the Dagster runs: they test logic, not data)."""
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    dbt = gold_dbt()
    invocation = dbt.cli(["test", "--select", "test_type:unit"], raise_on_error=False).wait()
    assert invocation.is_successful(), invocation.get_error()
    assert len([e for e in invocation.get_artifact("run_results.json")["results"]]) == 13


def compiled_sql(target_path: Path) -> dict[str, str]:
    folder = target_path / "compiled"
    return {str(path.relative_to(folder)): path.read_text() for path in sorted(folder.rglob("*.sql"))}


def test_runs_from_the_saved_parse_compile_what_a_fresh_parse_of_the_window_compiles(warehouse, built, monkeypatch,
                                                                                      tmp_path):
    """Gold runs skip dbt's parse (dbt_runner.py): no node may keep a value rendered for the saved parse's
    window. Every model, hook and test compiles to the SQL that dbt parsing the project with the day's --vars
    gives."""
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    window = ["--vars", json.dumps({"min_date": DAYS[1], "max_date": DAYS[2]})]
    list(gold_dbt().run_in_process(["compile", *window], target_path=tmp_path / "saved").stream_raw_events())
    fresh = subprocess.run([DBT_EXECUTABLE, "compile", *window, "--no-partial-parse", "--quiet",
                            "--target-path", str(tmp_path / "fresh")], cwd=DBT_PROJECT_DIR, capture_output=True)
    assert fresh.returncode == 0, fresh.stdout.decode()
    assert compiled_sql(tmp_path / "saved") == compiled_sql(tmp_path / "fresh")
    assert any(DAYS[1].replace("-", "") in sql for sql in compiled_sql(tmp_path / "saved").values())


def test_an_edited_project_file_changes_the_digest_that_asks_for_a_new_parse(tmp_path):
    """Gold runs do not parse: parse_for_connection parses again when a project file changed, not when dbt
    wrote its own output."""
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    before = project_files_digest(project)
    (project / "target").mkdir()
    (project / "target" / "run_results.json").write_text("{}")
    assert project_files_digest(project) == before
    model = project / "models" / "marts" / "dim_date.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    assert project_files_digest(project) != before
    printed = subprocess.run([sys.executable, "-m", "domotic_assets.gold.dbt_files", str(project)], check=True,
                             capture_output=True, text=True, cwd=DBT_PROJECT_DIR.parent).stdout.strip()
    assert printed == project_files_digest(project)  # what scripts/bootstrap.sh compares


APARTMENT_SCOPED = ("dim_apartment", "dim_apartment_weather_site", "dim_room", "dim_device", "fact_environment_minute",
                    "fact_presence_minute", "presence_forecast_minute", "fact_energy_minute", "fact_device_health_day",
                    "house_balance_minute", "energy_cost_day")


def rows_per_apartment(connection) -> dict[str, dict[int, int]]:
    with connection.cursor() as cursor:
        found = {}
        for table in APARTMENT_SCOPED:
            cursor.execute(f"SELECT apartment_key, count(*) FROM gold.{table} GROUP BY 1")
            found[table] = dict(cursor.fetchall())
        return found


def test_bi_roles_see_only_their_apartments_through_tables_views_and_aggregates(warehouse, built, bi_login):
    with warehouse.connect() as connection:
        everything = rows_per_apartment(connection)
    first, *others = sorted(everything["dim_apartment"])
    assert others and all(len(everything[table]) == 1 + len(others) for table in APARTMENT_SCOPED), everything
    energy_sql = "SELECT apartment_key, round(sum(energy_wh)::numeric, 3) FROM gold.fact_energy_minute GROUP BY 1"
    all_energy = dict(query(warehouse, energy_sql))
    one, every, none = bi_login("gold_test", [first]), bi_login("gold_test", None), bi_login("gold_test", [])
    assert rows_per_apartment(one) == {table: {first: rows[first]} for table, rows in everything.items()}
    assert rows_per_apartment(every) == everything
    assert rows_per_apartment(none) == {table: {} for table in APARTMENT_SCOPED}
    every.close()
    with one.cursor() as cursor:
        cursor.execute(energy_sql)
        assert dict(cursor.fetchall()) == {first: all_energy[first]}
        cursor.execute("SELECT count(*) FROM gold.fact_weather_hour")  # not apartment-scoped: readable by all
        assert cursor.fetchone()[0] == query(warehouse, "SELECT count(*) FROM gold.fact_weather_hour")[0][0] > 0
    for table in ("silver.sensor_events", "gold_staging.stg_sensor_events"):
        with none.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute(f"SELECT count(*) FROM {table}")
        none.rollback()
    with none.cursor() as cursor:  # the mapping shows a login its own rows only
        cursor.execute("SELECT count(*) FROM governance.apartment_access")
        assert cursor.fetchone()[0] == 0
    one.close()
    none.close()


# A BI login's own function, cheap so that the planner would run it first: it tells every apartment it is shown.
PROBE = """CREATE FUNCTION pg_temp.probe(apartment bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE COST 0.0001
    AS $$ BEGIN RAISE NOTICE 'apartment %', apartment; RETURN true; END $$"""


class Notices(set):
    """A connection's notices, each kept once (psycopg2 calls `append` with every notice)."""
    append = set.add


def test_no_gold_relation_shows_a_bi_login_s_function_or_a_failing_cast_a_foreign_apartment(warehouse, built,
                                                                                             bi_login):
    """Every gold table and view with an apartment_key (found in the catalog), queried by two BI logins of one
    apartment each with a leaky WHERE clause (the login's own function, in pg_temp: gold and public refuse it; a
    cast whose error names the row), reaches that clause with the login's apartment only."""
    relations = [name for name, in query(warehouse, """
        SELECT relname FROM pg_class JOIN pg_attribute ON attrelid = pg_class.oid
        WHERE relnamespace = 'gold'::regnamespace AND relkind IN ('r', 'v', 'm', 'p')
          AND attname = 'apartment_key' AND NOT attisdropped ORDER BY 1""")]
    assert {"dim_room", "dim_device", "house_balance_minute", "energy_cost_day", "fact_energy_minute"} <= set(relations)
    apartments = sorted(key for key, in query(warehouse, "SELECT apartment_key FROM gold.dim_apartment"))[:2]
    assert len(apartments) == 2
    for apartment in apartments:
        login = bi_login("gold_test", [apartment])
        login.autocommit = True
        with login.cursor() as cursor:
            for schema in ("gold", "public"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(f"CREATE FUNCTION {schema}.probe() RETURNS int LANGUAGE sql AS 'SELECT 1'")
            cursor.execute(PROBE)
            shown, expected = {}, {}
            for relation in relations:
                login.notices = Notices()
                cursor.execute(f"SELECT count(*) FROM gold.{relation} WHERE pg_temp.probe(apartment_key)")
                try:
                    cursor.execute(f"SELECT count(*) FROM gold.{relation} WHERE ('apartment ' || apartment_key)::int = 0")
                except psycopg2.errors.InvalidTextRepresentation as error:
                    login.notices.append(str(error))
                shown[relation] = {int(key) for key in re.findall(r"apartment (-?\d+)", " ".join(login.notices))}
                expected[relation] = {key for key, in query(
                    warehouse, f"SELECT DISTINCT apartment_key FROM gold.{relation} WHERE apartment_key = %s",
                    (apartment,))}
        login.close()
        assert shown == expected


def test_every_governance_function_runs_as_its_caller_with_a_fixed_search_path(warehouse):
    functions = query(warehouse, "SELECT proname, prosecdef, proconfig FROM pg_proc "
                                 "WHERE pronamespace = 'governance'::regnamespace")
    assert {"sees_every_apartment", "visible_apartments"} <= {name for name, *_ in functions}
    assert [f for f in functions if f[1:] != (False, ["search_path=pg_catalog, pg_temp"])] == []


def test_reference_tables_reload_under_the_gold_views(warehouse, built, settings):
    """The nightly reference reload empties and refills its tables: the gold views on them keep working."""
    before = query(warehouse, "SELECT count(*) FROM gold_staging.stg_buildings")
    dg.materialize([silver_reference_tables], resources={
        "warehouse": warehouse, "reference_db": ReferenceDatabaseResource(url=settings["MYSQL_URL"])})
    assert query(warehouse, "SELECT count(*) FROM gold_staging.stg_buildings") == before != [(0,)]


def test_the_device_registry_agrees_with_the_readings(warehouse, built):
    registry = query(warehouse, "SELECT apartment, sensor_id, partition_date, readings, minutes FROM silver.sensor_days "
                                "ORDER BY 1, 2, 3")
    readings = query(warehouse, """
        SELECT apartment, sensor_id, partition_date, count(*), count(DISTINCT "timestamp") FROM silver.sensor_events
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")
    assert registry == readings and len(registry) > 30


def test_dst_days_have_their_minutes(warehouse, built):
    minutes = dict(query(warehouse, "SELECT date_key, count(*) FROM gold.dim_datetime GROUP BY 1"))
    assert minutes[20231029] == 1500 and minutes[20231028] == 1440
    assert dict(query(warehouse, "SELECT date_key, minutes_in_day FROM gold.dim_date"))[20231029] == 1500


def test_plug_energy_equals_its_counter_rise(warehouse, built):
    """Independent computation: per plug, the counter's last reading minus its first (no resets on these
    plugs; every day of silver is built), against the sum of energy_wh in gold; and per plug and day,
    gold's energy against the day's counter rise within the energy spread over gaps crossing midnight."""
    readings = query(warehouse, """
        SELECT apartment || ':' || sensor_id, "timestamp", value FROM silver.sensor_events
        WHERE sensor_type = 'plug' AND field = 'total' ORDER BY 1, 2""")
    series = defaultdict(list)
    for device, moment, value in readings:
        series[device].append((moment, value))
    expected = {device: points[-1][1] - points[0][1] for device, points in series.items()
                if all(b >= a for (_, a), (_, b) in zip(points, points[1:], strict=False))}
    actual = dict(query(warehouse, """
        SELECT d.device_id, sum(e.energy_wh) FROM gold.fact_energy_minute e
        JOIN gold.dim_device d USING (device_key) WHERE d.sensor_type = 'plug' GROUP BY 1"""))
    assert len(expected) >= 6
    for device, rise in expected.items():
        assert actual[device] == pytest.approx(rise, rel=1e-9, abs=1e-6), device


def test_uptime_is_the_share_of_the_local_days_minutes(warehouse, built):
    received = dict(((a, s, d), n) for a, s, d, n in query(warehouse, """
        SELECT apartment, sensor_id, partition_date, count(DISTINCT date_trunc('minute', "timestamp"))
        FROM silver.sensor_events GROUP BY 1, 2, 3"""))
    health = query(warehouse, """
        SELECT d.device_id, to_date(h.date_key::text, 'YYYYMMDD'), h.uptime_pct, h.expected_readings
        FROM gold.fact_device_health_day h JOIN gold.dim_device d USING (device_key)""")
    assert health
    for device, day, uptime, expected_minutes in health:
        apartment, sensor = device.split(":", 1)
        minutes = 1500 if day == date(2023, 10, 29) else 1440
        assert expected_minutes == minutes
        assert uptime == pytest.approx(round(min(100, 100 * received.get((apartment, sensor, day), 0) / minutes), 2))


def test_latest_forecast_is_the_last_run_issued_before_the_target_day(warehouse, built):
    """Recomputed from silver: per target hour and site, the run (issue instant = target - lead) issued last
    before the local midnight of the target's day, and that run's mean temperature (outliers left out)."""
    runs = defaultdict(lambda: defaultdict(list))
    for target, site, lead, measurement, value in query(warehouse, """
            SELECT date_trunc('hour', "timestamp"), site, prediction, measurement, value FROM silver.weather_forecasts
            WHERE NOT is_outlier"""):
        temperatures = runs[(target, site)][target - timedelta(hours=lead)]
        temperatures += [value] if measurement == "PRED_T_2M_ctrl" else []
    latest = query(warehouse, """
        SELECT t.timestamp_utc, s.site_name, l.issued_at, l.temperature_c FROM gold.weather_forecast_latest l
        JOIN gold.dim_datetime t USING (datetime_key) JOIN gold.dim_weather_site s USING (site_key)""")
    expected = {}
    for (target, site), by_issue in runs.items():
        midnight = datetime.combine(target.astimezone(ZURICH).date(), datetime.min.time(), ZURICH)
        known = [issued for issued in by_issue if issued < midnight]
        if known:
            issued = max(known)
            temperatures = by_issue[issued]
            expected[(target, site)] = (issued, pytest.approx(sum(temperatures) / len(temperatures))
                                        if temperatures else None)
    assert len(latest) > 100
    assert {(target, site): (issued, temperature) for target, site, issued, temperature in latest} == expected


def facts_signature(warehouse: PostgresResource) -> list[tuple]:
    """Every energy minute (key, energy, rule) as a digest, and the environment facts' size."""
    return query(warehouse, """SELECT count(*), md5(string_agg(datetime_key || ':' || device_key || ':' ||
                               coalesce(round(energy_wh::numeric, 9)::text, '-') || ':' || coalesce(adjustment, ''),
                               ',' ORDER BY datetime_key, device_key)) FROM gold.fact_energy_minute""") \
        + query(warehouse, "SELECT count(*), sum(readings) FROM gold.fact_environment_minute")


def test_a_range_build_equals_day_by_day_builds(warehouse, built):
    before = facts_signature(warehouse)
    for day in DAYS:
        results = build(warehouse, day, day)
        assert failed_checks(results) == []
    assert facts_signature(warehouse) == before


def test_gold_runs_of_other_days_build_side_by_side_and_of_the_same_day_one_after_the_other(warehouse, built):
    """Three gold day runs and a rebuild of the dimensions at once (dbt's command line: one process each), two of
    the day runs of the same day: every run succeeds (the views each rebuilds take turns, the same day's second
    run waits and replaces the first's rows) and the facts are what they were."""
    before = facts_signature(warehouse)
    resources = {"dbt": gold_dbt("cli"), "warehouse": warehouse}

    def run(day: str | None) -> dg.ExecuteInProcessResult:
        if day is None:
            return dg.materialize([gold_models], resources=resources, raise_on_error=False)
        return dg.materialize([gold_daily_models], resources=resources, partition_key=day, raise_on_error=False)

    with ThreadPoolExecutor(max_workers=4) as runs:
        results = list(runs.map(run, [DAYS[0], DAYS[1], DAYS[1], None]))
    assert [result.success for result in results] == [True] * 4
    assert failed_checks(results) == []
    assert facts_signature(warehouse) == before


def test_the_command_line_runner_builds_what_the_in_process_runner_builds(warehouse, built):
    """DBT_RUNNER=cli (dagster-dbt's public `cli().stream_raw_events()`, dbt in a subprocess) gives the same
    facts, checks and row counts as the default in-process runner."""
    before = facts_signature(warehouse)
    by_runner = {}
    for runner in ("cli", "in-process"):
        by_runner[runner] = build(warehouse, DAYS[1], DAYS[1], runner=runner)
        assert failed_checks(by_runner[runner]) == []
        assert facts_signature(warehouse) == before, runner
    counts = {runner: [materialised_counts(result) for result in results] for runner, results in by_runner.items()}
    assert counts["cli"] == counts["in-process"]
    assert counts["cli"][1]["fact_energy_minute"]["rows_written"] > 0


def test_a_counter_dip_in_a_day_s_last_minute_is_the_same_glitch_built_alone_or_in_a_range(warehouse, built):
    """A plug's counter reads 0 in the last minute of a day and recovers at 00:00: the day built alone sees the
    next day's readings too, so it is a glitch (no phantom reset energy), as in a range build."""
    [(source_file, instant, total, device)] = query(warehouse, """
        SELECT source_file, "timestamp", value, apartment || ':' || sensor_id FROM silver.sensor_events
        WHERE partition_date = %s AND sensor_type = 'plug' AND field = 'total'
        ORDER BY "timestamp" DESC, sensor_id LIMIT 1""", (DAYS[0],))
    energy = """SELECT round(sum(energy_wh)::numeric, 6), count(*) FILTER (WHERE adjustment = 'reset'),
                       count(*) FILTER (WHERE adjustment = 'glitch')
                FROM gold.fact_energy_minute JOIN gold.dim_device USING (device_key)
                WHERE date_key = %s AND device_id = %s"""
    day_key = int(DAYS[0].replace("-", ""))
    dip = """UPDATE silver.sensor_events SET value = %s WHERE source_file = %s AND "timestamp" = %s
             AND sensor_type = 'plug' AND field = 'total' AND apartment || ':' || sensor_id = %s RETURNING 1"""
    query(warehouse, dip, (0.0, source_file, instant, device))
    try:
        assert failed_checks(build(warehouse, DAYS[0], DAYS[1])) == []
        in_range = query(warehouse, energy, (day_key, device))
        assert failed_checks(build(warehouse, DAYS[0], DAYS[0])) == []
        assert query(warehouse, energy, (day_key, device)) == in_range
        assert in_range[0][1:] == (0, 1)  # the dip is a glitch, not a reset
    finally:
        query(warehouse, dip, (total, source_file, instant, device))
        assert failed_checks(build(warehouse, DAYS[0], DAYS[1])) == []


def materialised_counts(result) -> dict[str, dict]:
    return {m.materialization.asset_key.to_user_string(): {k: m.materialization.metadata[k].value for k in (
        "rows_written", "dagster/row_count") if k in m.materialization.metadata}
        for m in result.get_asset_materialization_events()}


def test_materialisations_carry_the_rows_dbt_wrote(warehouse, built):
    """Row counts come from dbt's results: a dimension's are its table's rows, a one-day partition's are the
    rows of that day; a range run gives the rows it wrote without claiming them for each of its days."""
    dimensions, facts, _ = (materialised_counts(result) for result in built)  # and the dashboards' views
    [(dates,)] = query(warehouse, "SELECT count(*) FROM gold.dim_date")
    assert dimensions["dim_date"] == {"rows_written": dates, "dagster/row_count": dates}
    assert "rows_written" not in dimensions["dim_device"]  # a view: nothing written, nothing counted
    day_key = int(DAYS[1].replace("-", ""))
    in_day = {table: query(warehouse, f"SELECT count(*) FROM gold.{table} WHERE {column} = %s",
                           (DAYS[1] if column == "prediction_date" else day_key,))[0][0]
              for table, column in (("fact_energy_minute", "date_key"), ("fact_environment_minute", "date_key"),
                                    ("fact_presence_minute", "date_key"), ("fact_device_health_day", "date_key"),
                                    ("fact_weather_hour", "prediction_date"))}
    assert {table: facts[table] for table in in_day} == {
        table: {"rows_written": query(warehouse, f"SELECT count(*) FROM gold.{table}")[0][0]} for table in in_day}
    one_day = build(warehouse, DAYS[1], DAYS[1])[1]
    counts = materialised_counts(one_day)
    assert {table: counts[table] for table in in_day} == {
        table: {"rows_written": rows, "dagster/row_count": rows} for table, rows in in_day.items()}
    assert all(rows > 0 for rows in in_day.values())
    assert run_target_folders(one_day) == []  # a successful run leaves no dbt target folder behind


def run_target_folders(result) -> list[Path]:
    """The dbt target folders dagster-dbt gave the run's invocations (named after the run id's first 7 chars)."""
    return list((DBT_PROJECT_DIR / "target").glob(f"*-{result.run_id[:7]}-*"))


def test_presence_meets_the_latest_occupancy_forecast_of_its_window_downstream(warehouse, built):
    """presence_forecast_minute reads gold.fact_prediction as a declared source (its staging view built once the
    table exists): the latest forecast issued for a window stands beside each of its minutes, a later forecast
    at once (no rebuild, no write into the presence facts)."""
    store.ensure_schema(warehouse)
    [(room_key, apartment_key, window)] = query(warehouse, """
        SELECT room_key, apartment_key, date_bin('15 minutes', t.timestamp_utc, timestamptz '2000-01-01 00:00+00')
        FROM gold.fact_presence_minute p JOIN gold.dim_datetime t USING (datetime_key)
        WHERE p.date_key = %s ORDER BY datetime_key, room_key LIMIT 1""", (int(DAYS[1].replace("-", "")),))
    issued = [(window - timedelta(hours=hours), probability) for hours, probability in ((30, 0.2), (6, 0.7))]
    with warehouse.connect() as connection, connection.cursor() as cursor:
        for issue_time, probability in issued:
            cursor.execute("""INSERT INTO gold.fact_prediction (kind, model_name, model_version, target, apartment_key,
                              room_key, window_start, issue_time, probability, run_id)
                              VALUES ('forecast', 'lightgbm', 'v-test', 'occupancy', %s, %s, %s, %s, %s, 'test')""",
                           (apartment_key, room_key, window, issue_time, probability))
    beside = """
        SELECT date_bin('15 minutes', t.timestamp_utc, timestamptz '2000-01-01 00:00+00') = %s
               AND p.room_key = %s, array_agg(DISTINCT presence_prob)
        FROM gold.presence_forecast_minute p JOIN gold.dim_datetime t USING (datetime_key)
        WHERE p.date_key = %s GROUP BY 1 ORDER BY 1"""
    parameters = (window, room_key, int(DAYS[1].replace("-", "")))
    try:
        build(warehouse, DAYS[1], DAYS[1])
        assert query(warehouse, beside, parameters) == [(False, [None]), (True, [0.7])]
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("""INSERT INTO gold.fact_prediction (kind, model_name, model_version, target, apartment_key,
                              room_key, window_start, issue_time, probability, run_id)
                              VALUES ('forecast', 'lightgbm', 'v-test', 'occupancy', %s, %s, %s, %s, 0.9, 'test')""",
                           (apartment_key, room_key, window, window - timedelta(hours=2)))
        assert query(warehouse, beside, parameters) == [(False, [None]), (True, [0.9])]
    finally:
        query(warehouse, "DELETE FROM gold.fact_prediction WHERE run_id = 'test' RETURNING 1")


def test_every_silver_reading_of_an_environment_sensor_lands_in_a_fact(warehouse, built):
    silver = query(warehouse, """SELECT count(*) FROM silver.sensor_events
                                  WHERE sensor_type IN ('meteo', 'humidity', 'door', 'window')""")
    assert query(warehouse, "SELECT sum(readings) FROM gold.fact_environment_minute") == silver



def test_energy_lost_at_a_day_s_edge_fails_the_conservation_check(warehouse, built, monkeypatch):
    """plug_energy_is_conserved can fail: with one plug's energy of its day's first minute taken away (what a
    build that loses a rise across midnight does), the energy no longer adds up to the counter's rise."""
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    window = ["--vars", json.dumps({"min_date": DAYS[1], "max_date": DAYS[2]})]
    check = ["test", "--select", "plug_energy_is_conserved", *window]
    assert gold_dbt().cli(check, raise_on_error=False).wait().is_successful()
    [(changed,)] = query(warehouse, """
        UPDATE gold.fact_energy_minute SET energy_wh = 0 WHERE (datetime_key, device_key) = (
            SELECT datetime_key, device_key FROM gold.fact_energy_minute JOIN gold.dim_device USING (device_key)
            WHERE date_key = %s AND sensor_type = 'plug' AND energy_wh > 0 ORDER BY datetime_key LIMIT 1)
        RETURNING 1""", (int(DAYS[1].replace("-", "")),))
    try:
        assert not gold_dbt().cli(check, raise_on_error=False).wait().is_successful()
    finally:
        assert failed_checks(build(warehouse, DAYS[1], DAYS[1])) == []


# A meteo reading at noon on DAYS[1], and a copy of it one second later filed as `late.json` (a live load).
NOON = """FROM silver.sensor_events WHERE sensor_type = 'meteo' AND partition_date = %(day)s
          AND extract(hour FROM "timestamp" AT TIME ZONE 'Europe/Zurich') = 12"""
LATE_READING = f"""INSERT INTO silver.sensor_events SELECT apartment, room, sensor_type, sensor_id, field, value, unit,
                   "timestamp" + interval '1 second', is_outlier, 'late.json', partition_date {NOON} LIMIT 1"""


def dbt_test_status(selection: str, **dbt_vars) -> str:
    """The status of one dbt test over DAYS[1] (pass, warn, fail or error), given more vars."""
    window = {"min_date": DAYS[1], "max_date": DAYS[2], **dbt_vars}
    test = ["test", "--select", selection, "--vars", json.dumps(window)]
    invocation = gold_dbt().cli(test, raise_on_error=False).wait()
    [result] = invocation.get_artifact("run_results.json")["results"]
    shutil.rmtree(invocation.target_path, ignore_errors=True)
    return result["status"]


def reconciliation(snapshot: str | None) -> str:
    """The status of environment_readings_land_in_facts over DAYS[1], given a snapshot."""
    return dbt_test_status("environment_readings_land_in_facts", **({"silver_snapshot": snapshot} if snapshot else {}))


def test_the_recency_check_judges_a_past_day_by_its_own_last_minutes(warehouse, built, monkeypatch):
    """recent_in_window over DAYS[1], a past day judged by its own end: it passes when the day's energy reaches its
    last hour and warns when it stops two hours before the day's end, though the next day holds newer minutes."""
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    recency = "fact_energy_minute,test_name:recent_in_window"
    two_hours_before_its_end = datetime.combine(date.fromisoformat(DAYS[2]), datetime.min.time(), ZURICH) \
        - timedelta(hours=2)
    last_two_hours = (f"FROM gold.fact_energy_minute WHERE date_key = {DAYS[1].replace('-', '')} AND datetime_key >= "
                      f"{two_hours_before_its_end.astimezone(ZoneInfo('UTC')):%Y%m%d%H%M}")
    assert dbt_test_status(recency) == "pass"
    execute(warehouse, f"CREATE TABLE gold.hidden_minutes AS SELECT * {last_two_hours}; DELETE {last_two_hours}")
    try:
        assert query(warehouse, "SELECT count(*) FROM gold.hidden_minutes")[0][0] > 0
        assert dbt_test_status(recency) == "warn"
    finally:
        execute(warehouse, "INSERT INTO gold.fact_energy_minute SELECT * FROM gold.hidden_minutes; "
                           "DROP TABLE gold.hidden_minutes")
    assert dbt_test_status(recency) == "pass"


def test_the_reconciliation_with_silver_is_bounded_by_the_silver_a_run_started_from(warehouse, built, monkeypatch):
    """environment_readings_land_in_facts, given the silver a run started from (var silver_snapshot), accepts a
    reading loaded after that snapshot and missing from the facts (a live load committing while gold builds),
    fails one loaded before it, and fails facts holding more readings than silver does."""
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    one_reading = f"DELETE FROM silver.sensor_events WHERE partition_date = %(day)s AND ctid = (SELECT ctid {NOON} LIMIT 1)"
    day = {"day": DAYS[1]}
    [(run_start,)] = query(warehouse, "SELECT pg_current_snapshot()::text")
    execute(warehouse, LATE_READING, day)  # a reading loaded while gold builds
    try:
        [(later_run_start,)] = query(warehouse, "SELECT pg_current_snapshot()::text")
        assert reconciliation(run_start) == "pass"
        assert reconciliation(later_run_start) == "fail"
        assert reconciliation(None) == "fail"
    finally:
        execute(warehouse, "DELETE FROM silver.sensor_events WHERE source_file = 'late.json'")
    [(next_run_start,)] = query(warehouse, "SELECT pg_current_snapshot()::text")
    assert reconciliation(next_run_start) == "pass"
    [gone] = query(warehouse, one_reading + " RETURNING *", day)  # silver lost a reading the facts hold
    try:
        assert reconciliation(next_run_start) == "fail"
    finally:
        execute(warehouse, f"INSERT INTO silver.sensor_events VALUES ({', '.join(['%s'] * len(gone))})", gone)
    assert reconciliation(next_run_start) == "pass"


# One row of a minute fact in a given minute (`extra`: a further condition on it).
ONE_ROW = "ctid = (SELECT ctid FROM gold.{fact} WHERE datetime_key = %(minute)s{extra} LIMIT 1)"


def test_a_run_rebuilding_from_a_minute_checks_the_minutes_from_it_on(warehouse, built, monkeypatch):
    """The checks of a minute fact in a run rebuilding it from a minute (var rebuild_from) read the minutes from
    that one on, as the run rebuilds them: a fact's row gone at 10:00 local time fails the reconciliation with silver,
    and an energy below zero there the energy's range check, in a run from 09:00 and in a run of the whole day, and
    neither in a run from 11:00 (those minutes are as the run that built them checked them)."""
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    day = date.fromisoformat(DAYS[1])
    nine, ten, eleven = (datetime.combine(day, datetime.min.time().replace(hour=hour), ZURICH).astimezone(ZoneInfo("UTC"))
                         for hour in (9, 10, 11))
    minute = {"minute": int(f"{ten:%Y%m%d%H%M}")}

    def statuses(selection: str) -> list[str]:
        return [dbt_test_status(selection, **({"rebuild_from": start.isoformat()} if start else {}))
                for start in (nine, None, eleven)]

    environment_row = ONE_ROW.format(fact="fact_environment_minute", extra="")
    [gone] = query(warehouse, f"DELETE FROM gold.fact_environment_minute WHERE {environment_row} RETURNING *", minute)
    try:
        assert statuses("environment_readings_land_in_facts") == ["fail", "fail", "pass"]
    finally:
        execute(warehouse, f"INSERT INTO gold.fact_environment_minute VALUES ({', '.join(['%s'] * len(gone))})", gone)
    energy_row = ONE_ROW.format(fact="fact_energy_minute", extra=" AND energy_wh >= 0")
    negate = "UPDATE gold.fact_energy_minute SET energy_wh = -1 - energy_wh WHERE {}"
    [(device,)] = query(warehouse, negate.format(energy_row) + " RETURNING device_key", minute)
    try:
        assert statuses("fact_energy_minute,test_name:accepted_range") == ["fail", "fail", "pass"]
    finally:
        execute(warehouse, negate.format("datetime_key = %(minute)s AND device_key = %(device)s"),
                {**minute, "device": device})


def test_a_gold_run_s_snapshot_waits_for_the_silver_writers_of_the_days_it_reads(warehouse, built, monkeypatch):
    """A live append of a day the run reads is in progress as a gold run starts, its rows inserted under a
    savepoint (a subtransaction id, which a snapshot cannot judge while it runs): the run's snapshot waits for it,
    so its rows count as loaded before the run and the facts, built without them, fail. A writer of another day
    does not hold the snapshot."""
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    first, end = date.fromisoformat(DAYS[1]), date.fromisoformat(DAYS[2])
    taken: list[str] = []
    snapshot = threading.Thread(target=lambda: taken.append(silver_start(warehouse, [first], MINUTE_FACTS).snapshot))
    try:
        with warehouse.connect() as writer, writer.cursor() as cursor:
            silver_store.lock_day(cursor, "silver.sensor_events", end)  # the day after the window: read by it
            cursor.execute("SAVEPOINT before_append")
            cursor.execute(LATE_READING, {"day": DAYS[1]})
            snapshot.start()
            snapshot.join(timeout=3)
            assert snapshot.is_alive() and not taken  # held while the append runs
        snapshot.join(timeout=60)
        assert len(taken) == 1
        assert reconciliation(taken[0]) == "fail"
    finally:
        execute(warehouse, "DELETE FROM silver.sensor_events WHERE source_file = 'late.json'")
    unheld = threading.Thread(target=lambda: taken.append(silver_start(warehouse, [first], MINUTE_FACTS).snapshot))
    with warehouse.connect() as writer, writer.cursor() as cursor:
        silver_store.lock_day(cursor, "silver.sensor_events", end + timedelta(days=1))  # a day it does not read
        unheld.start()
        unheld.join(timeout=60)
        assert len(taken) == 2
    assert reconciliation(taken[0]) == "pass"


def test_a_snapshot_held_longer_than_its_wait_fails_naming_the_day(warehouse, built):
    """A writer that holds a day the run reads longer than the snapshot's wait: the run fails, naming the day,
    instead of waiting without end."""
    day = date.fromisoformat(DAYS[1])
    with warehouse.connect() as writer, writer.cursor() as cursor:
        silver_store.lock_day(cursor, "silver.sensor_events", day)
        with pytest.raises(TimeoutError, match=f"waited 1 s for a writer of {DAYS[1]}"), \
                silver_store.between_writes(warehouse, "silver.sensor_events", [day], wait_seconds=1):
            pass


def copied_reading(sensor: str, hour: int, minute: int = 0, shift: str = "1 second") -> str:
    """A SELECT of a copy of the first reading of a `sensor` condition at a local time of the day %(day)s, its
    instant shifted by `shift` (a reading of a file loaded after a gold build: source file late.json)."""
    return f"""SELECT apartment, room, sensor_type, sensor_id, field, value, unit, "timestamp" + interval '{shift}',
               is_outlier, 'late.json', partition_date
               FROM silver.sensor_events WHERE partition_date = %(day)s AND {sensor}
               AND "timestamp" = (%(day)s::date + time '{hour:02}:{minute:02}') AT TIME ZONE 'Europe/Zurich'
               ORDER BY apartment, sensor_id LIMIT 1"""


PLUG_COUNTER = "sensor_type = 'plug' AND field = 'total'"
HOUSE_METER = "sensor_type = 'consumption' AND field = 'total_power'"
CLIMATE = "sensor_type = 'meteo' AND field = 'temperature_c'"


def test_new_readings_reach_back_into_the_day_before_by_the_gold_rule(warehouse, built):
    """What the silver append records for the gold day before (`reaches_day_before`): new readings of DAYS[2]
    reach DAYS[1] when they are among the first `edge_readings` of a counter or of the house meter, or lie before
    DAYS[2]'s midnight, or replace a corrected file's rows; a counter's reading at noon and a climate reading at
    00:05 do not."""
    day = date.fromisoformat(DAYS[2])

    def reason(*copies: str, replaced: tuple[str, ...] = ()) -> str | None:
        with warehouse.connect() as connection, connection.cursor() as cursor:
            rows = [row for copy in copies for row in query(warehouse, copy, {"day": DAYS[2]})]
            assert len(rows) == len(copies)
            new = pl.DataFrame(rows, schema=list(silver_store.SENSOR_COLUMNS), orient="row")
            change = gold_change(cursor, day, new, list(replaced))
            assert change is not None
            return change.reaching_back

    assert reason(copied_reading(PLUG_COUNTER, 12), copied_reading(CLIMATE, 0, 5)) is None
    assert reason(copied_reading(PLUG_COUNTER, 0, 40)) == \
        "energy series with a new reading among their first 61 good ones of 2023-10-30: 1"
    assert reason(copied_reading(HOUSE_METER, 0, 3), copied_reading(PLUG_COUNTER, 0, 20)) == \
        "energy series with a new reading among their first 61 good ones of 2023-10-30: 2"
    assert reason(copied_reading(CLIMATE, 0, 0, "-10 minutes")) == "readings before 2023-10-30's midnight: 1"
    assert reason(copied_reading(CLIMATE, 12), replaced=("corrected.json",)) == \
        "files read again, their rows replaced: 1"


def test_a_gold_day_the_next_day_s_new_readings_do_not_reach_equals_its_rebuild(warehouse, built):
    """A reading of DAYS[2] at noon loaded after DAYS[1] and DAYS[2] were built does not reach DAYS[1]: the
    automation rebuilds DAYS[2] only, and DAYS[1] as it stands equals a rebuild of both days."""
    after = {"day": DAYS[2]}

    def day_signature() -> list[tuple]:
        return query(warehouse, """SELECT count(*), md5(string_agg(datetime_key || ':' || device_key || ':' ||
                                   coalesce(round(energy_wh::numeric, 9)::text, '-') || ':' || coalesce(adjustment, ''),
                                   ',' ORDER BY datetime_key, device_key)) FROM gold.fact_energy_minute
                                   WHERE date_key = %s""", (int(DAYS[1].replace("-", "")),))

    try:
        assert failed_checks(build(warehouse, DAYS[1], DAYS[2])) == []
        assert query(warehouse, f"INSERT INTO silver.sensor_events {copied_reading(PLUG_COUNTER, 12)} RETURNING 1",
                     after) == [(1,)]
        assert failed_checks(build(warehouse, DAYS[2], DAYS[2])) == []
        left_as_it_was = day_signature()
        assert failed_checks(build(warehouse, DAYS[1], DAYS[2])) == []
        assert day_signature() == left_as_it_was
    finally:
        execute(warehouse, "DELETE FROM silver.sensor_events WHERE source_file = 'late.json'")


def day_signature(warehouse: PostgresResource, day: str) -> list[tuple]:
    """A day's minute facts: every energy minute (key, device, energy, rule), presence and climate, as digests."""
    key = int(day.replace("-", ""))
    return query(warehouse, """SELECT count(*), md5(string_agg(datetime_key || ':' || device_key || ':' ||
                               coalesce(round(energy_wh::numeric, 9)::text, '-') || ':' || coalesce(adjustment, ''),
                               ',' ORDER BY datetime_key, device_key)) FROM gold.fact_energy_minute
                               WHERE date_key = %s""", (key,)) \
        + query(warehouse, """SELECT count(*), md5(string_agg(datetime_key || ':' || room_key || ':' || presence_flag
                                                           || ':' || coalesce(door_activity_flag::text, '-'),
                                                           ',' ORDER BY datetime_key, room_key))
                               FROM gold.fact_presence_minute WHERE date_key = %s""", (key,)) \
        + query(warehouse, "SELECT count(*), sum(readings), round(sum(temperature_c)::numeric, 6) "
                           "FROM gold.fact_environment_minute WHERE date_key = %s", (key,))


def rebuilt_from(result) -> dict[str, str]:
    """Per minute fact the run materialised, the instant it was rebuilt from (or "whole days")."""
    return {event.asset_key.path[-1]: event.materialization.metadata["rebuilt_from"].value
            for event in result.get_asset_materialization_events() if event.asset_key.path[-1] in MINUTE_FACTS}


def append_plug_reading(warehouse: PostgresResource, day: date, hour: int) -> datetime:
    """A copy of a plug's counter reading at `hour` of `day`, appended and recorded as the silver append records it;
    the minute silver's rule says it changes the day from."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO silver.sensor_events {copied_reading(PLUG_COUNTER, hour)} RETURNING *",
                       {"day": day.isoformat()})
        new = pl.DataFrame(cursor.fetchall(), schema=list(silver_store.SENSOR_COLUMNS), orient="row")
        change = gold_change(cursor, day, new, [])
        assert change is not None and change.rebuild_from is not None and change.reaching_back is None
        silver_store.record_gold_changes(cursor, day, change.rebuild_from, reaches_back=False)
    return change.rebuild_from


def test_a_live_run_rebuilds_a_day_from_the_first_minute_an_append_changes_as_a_whole_rebuild_would(warehouse, built):
    """A plug's reading of DAYS[2] at noon appended after the day was built, recorded as the append records it: the
    day's next run rebuilds its minute facts from the minute silver's rule gives (the 61st good reading of the
    plug's counter before the new one: about an hour earlier), says so in its metadata, and leaves the day as a
    rebuild of the whole day leaves it. A run of some of the facts leaves the others' changes for their own run: after
    a run of the presence facts and a second append at 15:00, the energy facts rebuild from the first append's
    minute."""
    day = date.fromisoformat(DAYS[2])
    resources = {"dbt": gold_dbt(), "warehouse": warehouse}
    try:
        assert failed_checks(build(warehouse, DAYS[2], DAYS[2])) == []  # every minute fact built with every change
        noon = append_plug_reading(warehouse, day, 12)
        local = noon.astimezone(ZURICH)
        assert local.date() == day and 10 <= local.hour < 12, local
        live = dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2])
        assert failed_checks([live]) == []
        assert rebuilt_from(live) == dict.fromkeys(MINUTE_FACTS, noon.isoformat())
        rebuilt_from_a_minute = day_signature(warehouse, DAYS[2])
        whole = dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2])
        assert rebuilt_from(whole) == dict.fromkeys(MINUTE_FACTS, "whole days")  # nothing changed since
        assert day_signature(warehouse, DAYS[2]) == rebuilt_from_a_minute

        one_pm = append_plug_reading(warehouse, day, 13)
        presence = dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2],
                                  selection=[dg.AssetKey("fact_presence_minute")])
        assert rebuilt_from(presence) == {"fact_presence_minute": one_pm.isoformat()}
        three_pm = append_plug_reading(warehouse, day, 15)
        assert three_pm > one_pm
        energy = dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2],
                                selection=[dg.AssetKey(ENERGY_FACT)])
        assert rebuilt_from(energy) == {ENERGY_FACT: one_pm.isoformat()}
        assert failed_checks([presence, energy]) == []
    finally:
        execute(warehouse, "DELETE FROM silver.sensor_events WHERE source_file = 'late.json'")


def gold_views(warehouse: PostgresResource) -> set[str]:
    return {name for (name,) in query(warehouse, "SELECT viewname FROM pg_views WHERE schemaname = 'gold'")}


def columns_of(warehouse: PostgresResource, relation: str) -> list[str]:
    """The columns of a gold relation, in their order."""
    return [name for (name,) in query(warehouse, """SELECT column_name FROM information_schema.columns
                                                    WHERE table_schema = 'gold' AND table_name = %s
                                                    ORDER BY ordinal_position""", (relation,))]


def oid_of(warehouse: PostgresResource, relation: str) -> int:
    """The relation's object id: the same after a rebuild in place, another after a swap."""
    return query(warehouse, "SELECT %s::regclass::oid", (f"gold.{relation}",))[0][0]


def test_a_gold_day_leaves_the_views_built_on_its_views_in_place(warehouse, built):
    """A day's run replaces its views (`energy_cost_day`, `house_balance_minute`, …) in place: the dashboards'
    views built on them stay, with their grants, and the BI reads them without a rebuild of the dashboards."""
    resources = {"dbt": gold_dbt(), "warehouse": warehouse}
    assert failed_checks([dg.materialize([gold_dashboard_views], resources=resources)]) == []
    before = gold_views(warehouse)
    assert {"dash_energy_day", "dash_device_energy_day", "dash_house_balance_day"} <= before
    assert failed_checks([dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2])]) == []
    assert gold_views(warehouse) == before


def test_a_rebuild_of_the_dimensions_leaves_the_views_on_them_in_place(warehouse, built):
    """A dimension rebuilt with the same columns keeps its relation (its rows are replaced): the daily views and the
    dashboards' views on it stay. One whose columns changed is swapped for a new table, as dbt does, and so is
    every table in a full refresh."""
    resources = {"dbt": gold_dbt(), "warehouse": warehouse}
    assert failed_checks([dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2]),
                          dg.materialize([gold_dashboard_views], resources=resources)]) == []
    before, [(tariffs,)] = gold_views(warehouse), query(warehouse, "SELECT count(*) FROM gold.dim_tariff")
    assert {"energy_cost_day", "house_balance_minute", "dash_energy_day", "dash_comfort_room_day"} <= before
    table = oid_of(warehouse, "dim_tariff")
    assert failed_checks([dg.materialize([gold_models], resources=resources)]) == []
    assert gold_views(warehouse) == before
    assert query(warehouse, "SELECT count(*) FROM gold.dim_tariff") == [(tariffs,)]
    assert oid_of(warehouse, "dim_tariff") == table
    built_columns = columns_of(warehouse, "dim_tariff")
    execute(warehouse, "ALTER TABLE gold.dim_tariff ADD COLUMN left_over integer")
    try:
        assert failed_checks([dg.materialize([gold_models], resources=resources)]) == []
        assert columns_of(warehouse, "dim_tariff") == built_columns
        table = oid_of(warehouse, "dim_tariff")
        assert failed_checks([dg.materialize([gold_models], resources=resources, run_config={
            "ops": {"gold_models": {"config": {"full_refresh": True}}}})]) == []
        assert oid_of(warehouse, "dim_tariff") != table
    finally:
        assert failed_checks([dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2]),
                              dg.materialize([gold_dashboard_views], resources=resources)]) == []


def test_a_view_whose_columns_changed_is_created_again(warehouse, built):
    """`create or replace view` refuses other columns: the view is then dropped and created again."""
    built_columns = columns_of(warehouse, "energy_cost_day")
    execute(warehouse, 'ALTER VIEW gold.energy_cost_day RENAME COLUMN "energy_wh" TO "energy_wh_before"')
    resources = {"dbt": gold_dbt(), "warehouse": warehouse}
    try:
        assert failed_checks([dg.materialize([gold_daily_models], resources=resources,
                                             partition_key=DAYS[2])]) == []
        assert columns_of(warehouse, "energy_cost_day") == built_columns
    finally:
        assert failed_checks([dg.materialize([gold_dashboard_views], resources=resources)]) == []


def test_a_day_s_build_leaves_its_facts_statistics_current(warehouse, built):
    """Each minute fact is analysed after its day's insert (autovacuum's analyses are not counted): a day the
    planner has not seen is otherwise estimated empty, and the day's tests join its rows in nested loops."""
    [(started,)] = query(warehouse, "SELECT clock_timestamp()")
    assert failed_checks(build(warehouse, DAYS[2], DAYS[2])) == []
    analysed = query(warehouse, """SELECT relname FROM pg_stat_user_tables
                                   WHERE schemaname = 'gold' AND last_analyze >= %s""", (started,))
    assert {"fact_energy_minute", "fact_environment_minute", "fact_presence_minute",
            "fact_weather_hour"} <= {name for (name,) in analysed}


def test_the_facts_and_minutes_keep_their_date_index_when_rebuilt(warehouse, built):
    """dbt creates the date_key index with each table it creates: a rebuild of the dimensions (a new table swapped
    for the old one, whose index still holds its name until it is dropped) and every fact have one."""
    assert failed_checks([dg.materialize([gold_models], resources={"dbt": gold_dbt(), "warehouse": warehouse})]) == []
    indexed = query(warehouse, """SELECT table_class.relname FROM pg_index
                                  JOIN pg_class AS table_class ON table_class.oid = pg_index.indrelid
                                  JOIN pg_namespace ON pg_namespace.oid = table_class.relnamespace
                                  JOIN pg_attribute ON attrelid = indrelid AND attnum = pg_index.indkey[0]
                                  WHERE nspname = 'gold' AND attname = 'date_key'""")
    assert {"dim_datetime", "fact_energy_minute", "fact_environment_minute", "fact_presence_minute",
            "fact_weather_hour"} <= {name for (name,) in indexed}


def test_a_protected_table_is_left_as_it_is_without_locking_its_readers_out(warehouse, built):
    """A day's build protects its fact again (dbt's post-hook): on a table with row-level security and its policy
    that takes no lock beyond a reader's, so the BI's queries run on while the day is written."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT governance.protect_apartment_rows('gold.fact_energy_minute')")
        cursor.execute("""SELECT DISTINCT mode FROM pg_locks WHERE pid = pg_backend_pid()
                          AND relation = 'gold.fact_energy_minute'::regclass""")
        assert {mode for (mode,) in cursor.fetchall()} <= {"AccessShareLock"}
        connection.rollback()
    [(policies, secured)] = query(warehouse, """SELECT count(*), bool_and(relrowsecurity) FROM pg_policy
                                                JOIN pg_class ON pg_class.oid = polrelid
                                                WHERE polrelid = 'gold.fact_energy_minute'::regclass""")
    assert (policies, secured) == (1, True)


# A reading of a day's file whose timestamp lies years away (a device clock gone wrong, written straight into silver).
CORRUPTED_READING = """INSERT INTO silver.sensor_events SELECT apartment, room, sensor_type, sensor_id, field, value,
                       unit, "timestamp" + interval '7 years', is_outlier, 'corrupted.json', partition_date
                       FROM silver.sensor_events WHERE sensor_type = 'meteo' AND partition_date = %s LIMIT 1"""


def test_a_corrupted_silver_row_fails_the_right_blocking_check(warehouse, built):
    """A reading whose timestamp lies years away from its day (a device clock gone wrong, written straight
    into silver) lands in no day's facts: the reconciliation with silver fails as a blocking asset check."""
    execute(warehouse, CORRUPTED_READING, (DAYS[1],))
    try:
        results = build(warehouse, DAYS[1], DAYS[1], raise_on_error=False)
        assert not results[1].success  # the failed test stops the build: downstream models are not built
        failed = failed_checks(results)
        assert failed == ["fact_environment_minute.environment_readings_land_in_facts"], failed
        check = next(c for r in results for c in r.get_asset_check_evaluations() if not c.passed)
        assert check.severity == dg.AssetCheckSeverity.ERROR
        [kept] = run_target_folders(results[1])  # the failed run keeps its dbt.log and compiled SQL
        assert (kept / "dbt.log").is_file()
        shutil.rmtree(kept)
    finally:
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("DELETE FROM silver.sensor_events WHERE source_file = 'corrupted.json'")
        assert failed_checks(build(warehouse, DAYS[1], DAYS[1])) == []


def test_a_failed_gold_run_leaves_its_day_to_be_rebuilt_and_checked_whole(warehouse, built):
    """A run rebuilding a day from a minute whose check fails (a corrupted reading) forgets its facts' builds: the
    day's next run rebuilds and checks it whole, not from the minute the changes since the last good build give."""
    day = date.fromisoformat(DAYS[2])
    resources = {"dbt": gold_dbt(), "warehouse": warehouse}
    try:
        assert failed_checks(build(warehouse, DAYS[2], DAYS[2])) == []
        noon = append_plug_reading(warehouse, day, 12)
        with warehouse.connect() as connection, connection.cursor() as cursor:
            assert silver_store.gold_day_changes(cursor, [day], MINUTE_FACTS).rebuild_from == noon
        execute(warehouse, CORRUPTED_READING, (DAYS[2],))
        failed = dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2], raise_on_error=False)
        assert not failed.success
        assert failed_checks([failed]) == ["fact_environment_minute.environment_readings_land_in_facts"]
        assert rebuilt_from(failed)["fact_environment_minute"] == noon.isoformat()
        [kept] = run_target_folders(failed)
        shutil.rmtree(kept)
    finally:
        execute(warehouse, "DELETE FROM silver.sensor_events WHERE source_file IN ('corrupted.json', 'late.json')")
    whole = dg.materialize([gold_daily_models], resources=resources, partition_key=DAYS[2])
    assert rebuilt_from(whole) == dict.fromkeys(MINUTE_FACTS, "whole days")
    assert failed_checks([whole]) == []


def test_a_day_without_its_house_meter_fails_the_house_balance(warehouse, built):
    """The balance never passes for lack of data: an apartment's day whose house meter readings are gone (its
    plugs still reporting) fails the check, an error, with the meter's coverage; restored, it passes again."""
    day = DAYS[1]
    [(apartment,)] = query(warehouse, "SELECT min(apartment) FROM silver.sensor_events WHERE partition_date = %s "
                                      "AND sensor_type = 'consumption'", (day,))
    hide = "FROM silver.sensor_events WHERE partition_date = %s AND apartment = %s AND sensor_type = 'consumption'"
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE silver.hidden_meter AS SELECT * {hide}", (day, apartment))
        cursor.execute(f"DELETE {hide}", (day, apartment))
    try:
        results = build(warehouse, day, day, raise_on_error=False)
        [check] = [c for r in results for c in r.get_asset_check_evaluations()
                   if c.check_name == "house_meter_covers_its_devices"]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    finally:
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("INSERT INTO silver.sensor_events SELECT * FROM silver.hidden_meter; "
                           "DROP TABLE silver.hidden_meter")
    assert failed_checks(build(warehouse, day, day)) == []


# The grain of every mart table (dbt model-level constraints): its primary key in PostgreSQL. Views take none.
PRIMARY_KEYS = {
    "dim_date": ["date_key"], "dim_datetime": ["datetime_key"], "dim_apartment": ["apartment_key"],
    "dim_weather_site": ["site_key"], "dim_tariff": ["tariff_key"],
    "fact_energy_minute": ["datetime_key", "device_key"], "fact_environment_minute": ["datetime_key", "room_key"],
    "fact_presence_minute": ["datetime_key", "room_key"], "fact_device_health_day": ["date_key", "device_key"],
    "fact_weather_hour": ["datetime_key", "site_key", "prediction_date", "issued_at"],
}


def test_every_mart_table_rejects_a_second_row_of_its_grain(warehouse, built):
    """The tables carry their grain as primary key (kept across the rebuilds of the other tests): PostgreSQL
    refuses a copy of one of their rows."""
    keys = dict(query(warehouse, """
        SELECT t.relname, array_agg(a.attname::text ORDER BY k.position) FROM pg_constraint AS c
        JOIN pg_class AS t ON t.oid = c.conrelid
        CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k (attnum, position)
        JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.contype = 'p' AND c.connamespace = 'gold'::regnamespace GROUP BY 1"""))
    assert {table: keys.get(table) for table in PRIMARY_KEYS} == PRIMARY_KEYS
    with warehouse.connect() as connection:
        for table in PRIMARY_KEYS:
            with connection.cursor() as cursor, pytest.raises(psycopg2.errors.UniqueViolation):
                cursor.execute(f"INSERT INTO gold.{table} SELECT * FROM gold.{table} LIMIT 1")
            connection.rollback()


def test_source_freshness_measures_silver_by_its_arrival(warehouse, built, tmp_path):
    """`dbt source freshness` judges the sources that have a load or arrival time, and only those: the ledger
    loaded minutes ago passes; the readings and forecasts of the generated days (2023) are long overdue. No dbt
    command writes dbt's anonymous user id (.user.yml: no usage statistics)."""
    result = subprocess.run([DBT_EXECUTABLE, "source", "freshness", "--project-dir", str(DBT_PROJECT_DIR),
                             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path),
                             "--log-path", str(tmp_path)], env={**os.environ, **warehouse.dbt_environment()},
                            capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stdout[-3000:]
    found = {r["unique_id"].rsplit(".", 1)[1]: r for r in json.loads((tmp_path / "sources.json").read_text())["results"]}
    assert {name: r["status"] for name, r in found.items()} == {
        "file_ledger": "pass", "sensor_events": "error", "weather_forecasts": "error"}, result.stdout[-3000:]
    [(newest_reading, newest_issue)] = query(warehouse, """
        SELECT (SELECT max("timestamp") FROM silver.sensor_events),
               (SELECT max(prediction_date)::timestamp AT TIME ZONE 'Europe/Zurich' FROM silver.weather_forecasts)""")
    assert datetime.fromisoformat(found["sensor_events"]["max_loaded_at"]) == newest_reading
    assert datetime.fromisoformat(found["weather_forecasts"]["max_loaded_at"]) == newest_issue
    assert not (DBT_PROJECT_DIR / ".user.yml").exists()


def test_dbt_docs_are_generated_from_the_warehouse_and_served_on_loopback(warehouse, built, tmp_path):
    """`python -m domotic_ops dbt-docs` documents the built star (the catalog has its columns and the comments
    dbt persisted) and serves the site on 127.0.0.1, in a target folder of its own: the manifest the code
    location loads is left alone."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    before = manifest.stat().st_mtime_ns
    port = free_port()
    env = {**os.environ, "DOMOTIC_ENV_FILE": "/nonexistent", "DOMOTIC_RUNTIME_DIR": str(tmp_path),
           "DB_URL": warehouse.db_url}
    log = tmp_path / "dbt-docs.log"
    with log.open("w") as output:
        server = subprocess.Popen([sys.executable, "-m", "domotic_ops", "dbt-docs", "--port", str(port)], env=env,
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json", timeout=5) as response:
                    catalog = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, "dbt docs were not served within 5 minutes"
                time.sleep(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as response:
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    energy = catalog["nodes"]["model.domotic.fact_energy_minute"]
    assert energy["metadata"]["comment"].startswith("Energy per device and minute")
    assert energy["columns"]["energy_wh"]["comment"].startswith("energy consumed in the minute")
    assert "loaded_at" in catalog["sources"]["source.domotic.silver.file_ledger"]["columns"]
    assert manifest.stat().st_mtime_ns == before


# GDPR requests, on a copy of the built warehouse and of its bronze folder.

@pytest.fixture
def copied(warehouse, built, bronze_root, fresh_database, tmp_path) -> tuple[PostgresResource, Path]:
    url = fresh_database("gdpr_copy", template="gold_test")
    bronze = tmp_path / "bronze"
    shutil.copytree(bronze_root, bronze)
    return PostgresResource(db_url=url), bronze


def held_about(warehouse: PostgresResource, bronze: Path) -> dict[str, dict]:
    """Per apartment id: rows of each apartment table (independent SQL), and its bronze files."""
    found = {}
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT apartment FROM silver.file_ledger WHERE apartment IS NOT NULL")
        for (apartment,) in cursor.fetchall():
            counts = {}
            for table in ("silver.sensor_events", "silver.sensor_days", "silver.file_ledger"):
                cursor.execute(f"SELECT count(*) FROM {table} WHERE apartment = %s", (apartment,))
                counts[table] = cursor.fetchone()[0]
            for table in APARTMENT_SCOPED:
                cursor.execute(f"SELECT count(*) FROM gold.{table} WHERE apartment_key IN "
                               "(SELECT apartment_key FROM gold.dim_apartment WHERE apartment_id = %s)", (apartment,))
                counts[f"gold.{table}"] = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM governance.apartment_access "
                           "WHERE apartment_key = governance.apartment_key(%s)", (apartment,))
            counts["governance.apartment_access"] = cursor.fetchone()[0]
            files = sorted(str(p.relative_to(bronze)) for p in (bronze / apartment).rglob("*") if p.is_file())
            found[apartment] = {"rows": counts, "files": files}
    return found


def run_gdpr(job, op: str, warehouse: PostgresResource, bronze: Path, **config):
    return job.execute_in_process(run_config={"ops": {op: {"config": config}}},
                                  resources={"warehouse": warehouse, "bronze": BronzeResource(root=str(bronze))})


def test_the_surrogate_key_of_governance_is_dbt_s(warehouse, built):
    assert query(warehouse, "SELECT count(*) FROM gold.dim_apartment "
                            "WHERE apartment_key <> governance.apartment_key(apartment_id)") == [(0,)]


def test_the_export_of_an_apartment_equals_the_database_content(copied, tmp_path, monkeypatch):
    warehouse, bronze = copied
    held = held_about(warehouse, bronze)
    apartment = sorted(held)[0]
    monkeypatch.setenv("GDPR_EXPORT_DIR", str(tmp_path / "exports"))
    result = run_gdpr(gdpr_export_job, "export_apartment", warehouse, bronze, apartment=apartment)
    with zipfile.ZipFile(result.output_for_node("export_apartment")) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        tables = {name: pl.read_csv(archive.read(entry["file"]), infer_schema=False)
                  for name, entry in manifest["tables"].items()}
        listed = pl.read_csv(archive.read("bronze_files.csv"))
    for name, rows in held[apartment]["rows"].items():
        if name in tables:  # tables, not views
            assert tables[name].height == manifest["tables"][name]["rows"] == rows, name
    assert {"silver.sensor_events", "silver.rejected_files", "gold.fact_energy_minute", "gold.dim_apartment"} \
        <= set(tables)
    events = tables["silver.sensor_events"]
    assert set(events["apartment"]) == {apartment}
    [(total, sources)] = query(warehouse, "SELECT sum(value), count(DISTINCT source_file) "
                                          "FROM silver.sensor_events WHERE apartment = %s", (apartment,))
    assert events["value"].cast(pl.Float64).sum() == pytest.approx(total, rel=1e-12)
    assert events["source_file"].n_unique() == sources
    paths = set(listed["path"])
    assert set(held[apartment]["files"]) <= paths  # and its rejected files, named after its SMB user
    assert all(path.startswith("_rejected/") for path in paths - set(held[apartment]["files"]))


def test_an_erased_apartment_is_gone_everywhere_and_stays_gone(copied, settings, postgres):
    """Its dashboard users' rows of the apartment mapping included (they then see nothing)."""
    warehouse, bronze = copied
    erased, *kept = sorted(held_about(warehouse, bronze))
    admin = postgres.connect(warehouse.connection_kwargs()["dbname"])
    with admin, admin.cursor() as cursor:
        for grantee, apartment in (("resident_erased", erased), ("resident_kept", kept[0])):
            cursor.execute("INSERT INTO governance.apartment_access VALUES (%s, governance.apartment_key(%s))",
                           (grantee, apartment))
    admin.close()
    before = held_about(warehouse, bronze)
    assert before[erased]["rows"]["governance.apartment_access"] >= 1  # with the BI logins of earlier tests
    assert before[kept[0]]["rows"]["governance.apartment_access"] >= 1
    assert kept and before[erased]["rows"]["gold.fact_energy_minute"] and before[erased]["files"]

    dry = run_gdpr(gdpr_erase_job, "erase_apartment", warehouse, bronze, apartment=erased)
    assert dry.output_for_node("erase_apartment")["bronze_files"] == len(before[erased]["files"])
    assert held_about(warehouse, bronze) == before  # a dry run erases nothing

    run_gdpr(gdpr_erase_job, "erase_apartment", warehouse, bronze, apartment=erased, dry_run=False)
    after = held_about(warehouse, bronze)
    assert erased not in after and not (bronze / erased).exists()
    assert {apartment: after[apartment] for apartment in kept} == {apartment: before[apartment] for apartment in kept}
    with warehouse.connect() as connection, connection.cursor() as cursor:
        assert not any(count_rows(cursor, apartment_tables(cursor), erased).values())
        cursor.execute("SELECT a::text, a.rows_deleted FROM governance.erasure_audit AS a")
        [(audit, deleted)] = cursor.fetchall()
    assert erased.lower() not in audit.lower() and sum(deleted.values()) > 0

    report = copy_day(SMBShareResource(path=settings["SMB_PATH"]), bronze, DEFAULT_APARTMENTS, DAYS[0], time.time())
    assert report.erased > 0 and erased not in report.apartments and not (bronze / erased).exists()


def test_an_interrupted_gold_run_stops_dbt_and_its_queries(warehouse, monkeypatch, tmp_path):
    """Terminating a run interrupts the step (Dagster raises in its thread): dbt, which runs in a thread of the
    step's process, has its query cancelled and stops."""
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    run = gold_dbt().run_in_process(["show", "--inline", "select pg_sleep(600) as slept"], target_path=tmp_path)
    sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(600)%%' AND pid <> pg_backend_pid()"

    def interrupt_when_the_query_runs():
        while query(warehouse, sleeping) == [(0,)]:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    interrupt = threading.Thread(target=interrupt_when_the_query_runs, daemon=True)
    interrupt.start()
    with pytest.raises(KeyboardInterrupt):
        list(run.stream_raw_events())
    assert query(warehouse, sleeping) == [(0,)]
    assert not [thread for thread in threading.enumerate() if thread.name == "dbt"]


def test_a_gold_run_that_cannot_reach_the_warehouse_fails_naming_dbt_s_command_and_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DOMOTIC_DBT_PORT", str(free_port()))  # nothing listens there
    run = gold_dbt().run_in_process(["show", "--inline", "select 1 as one"], target_path=tmp_path)
    with pytest.raises(DagsterDbtCliRuntimeError) as failure:
        list(run.stream_raw_events())
    assert "`dbt show --inline select 1 as one" in str(failure.value)
    assert "connection" in str(failure.value).lower()


# Device-health alerts, on a copy of the built warehouse whose gold rows are changed to raise and clear them.

@pytest.fixture
def alerting(warehouse, built, fresh_database, receiver) -> tuple[PostgresResource, AlertWebhookResource, list]:
    url, received = receiver
    copy = PostgresResource(db_url=fresh_database("device_alerts", template="gold_test"))
    return copy, AlertWebhookResource(url=url), received


def evaluate_alerts(warehouse: PostgresResource, webhook: AlertWebhookResource, day: str):
    """Materialises the day's alerts; its check's evaluation."""
    result = dg.materialize([device_health_alerts], partition_key=day,
                            resources={"warehouse": warehouse, "webhook": webhook})
    [check] = result.get_asset_check_evaluations()
    return check


def alerts_of(warehouse: PostgresResource, rule: str, device_key: int) -> list[tuple]:
    """The device alerts of a rule and device, with the webhook status of the alert raised when each opened."""
    return query(warehouse, "SELECT d.apartment_id, d.room_name, d.device_id, d.first_day::text, d.last_day::text, "
                            "d.evidence, d.closed_day::text, a.webhook_status FROM governance.device_alerts AS d "
                            "LEFT JOIN governance.alerts AS a ON a.alert_key = 'device:' || d.alert_id "
                            "WHERE d.rule = %s AND d.device_key = %s ORDER BY d.alert_id", (rule, device_key))


def names_of(warehouse: PostgresResource, device_key: int) -> tuple:
    [names] = query(warehouse, "SELECT a.apartment_id, r.room_name, d.device_id FROM gold.dim_device AS d "
                               "JOIN gold.dim_room AS r USING (room_key) JOIN gold.dim_apartment AS a "
                               "ON a.apartment_key = d.apartment_key WHERE d.device_key = %s", (device_key,))
    return names


def posted_about(received: list, rule: str, device_id: str) -> list[dict]:
    return [alert for alert in received if alert["rule"] == rule and alert["device_id"] == device_id]


def open_in_check(check, rule: str, device_id: str) -> list[dict]:
    return [alert for alert in check.metadata["alerts"].data if (alert["rule"], alert["device_id"]) == (rule, device_id)]


def assert_closed_by(warehouse: PostgresResource, webhook: AlertWebhookResource, received: list, rule: str,
                     device_key: int, device: str, day: str) -> None:
    """The day evaluated again once the condition is gone: the alert is closed on that day, the check no longer
    lists it, and nothing more was posted about it."""
    check = evaluate_alerts(warehouse, webhook, day)
    [alert] = alerts_of(warehouse, rule, device_key)
    assert alert[6] == day and open_in_check(check, rule, device) == []
    assert len(posted_about(received, rule, device)) == 1


def test_a_drained_battery_opens_one_alert_until_the_battery_is_back(alerting):
    warehouse, webhook, received = alerting
    day, date_key = DAYS[1], int(DAYS[1].replace("-", ""))
    [(device_key, level)] = query(warehouse, "SELECT device_key, battery_min_pct FROM gold.fact_device_health_day "
                                             "WHERE date_key = %s AND battery_min_pct >= %s ORDER BY device_key LIMIT 1",
                                  (date_key, BATTERY_LOW_PCT))
    apartment, room, device = names_of(warehouse, device_key)
    evaluate_alerts(warehouse, webhook, day)
    assert alerts_of(warehouse, "battery_low", device_key) == []

    update = "UPDATE gold.fact_device_health_day SET battery_min_pct = %s WHERE date_key = %s AND device_key = %s"
    execute(warehouse, update, (4.5, date_key, device_key))
    evaluate_alerts(warehouse, webhook, day)
    check = evaluate_alerts(warehouse, webhook, day)  # the same day again: no second alert
    evaluate_alerts(warehouse, webhook, DAYS[0])  # an older day's evaluation closes nothing found later
    assert alerts_of(warehouse, "battery_low", device_key) == [
        (apartment, room, device, day, day, {"battery_min_pct": 4.5, "threshold_pct": BATTERY_LOW_PCT}, None, "200")]
    [posted] = posted_about(received, "battery_low", device)
    assert posted["text"] == (f"domotic: battery_low on {device} (apartment {apartment}, room {room}) on {day}: "
                              f"threshold_pct {BATTERY_LOW_PCT}, battery_min_pct 4.5")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert open_in_check(check, "battery_low", device) == [{
        "rule": "battery_low", "apartment_id": apartment, "room_name": room, "device_id": device, "first_day": day,
        "last_day": day, "evidence": {"battery_min_pct": 4.5, "threshold_pct": BATTERY_LOW_PCT}}]

    execute(warehouse, update, (level, date_key, device_key))
    assert_closed_by(warehouse, webhook, received, "battery_low", device_key, device, day)


def test_a_silent_sensor_among_reporting_ones_opens_one_alert_until_it_reports_again(alerting):
    warehouse, webhook, received = alerting
    day, date_key = DAYS[1], int(DAYS[1].replace("-", ""))
    [(device_key, readings, expected, uptime, best)] = query(warehouse, """
        SELECT device_key, received_readings, expected_readings, uptime_pct, best FROM (
            SELECT *, max(uptime_pct) OVER (PARTITION BY apartment_key) AS best
            FROM gold.fact_device_health_day WHERE date_key = %s) AS day
        WHERE best > %s AND uptime_pct >= %s ORDER BY device_key LIMIT 1""",
                                                             (date_key, REPORTING_UPTIME_PCT, SILENT_UPTIME_PCT))
    apartment, room, device = names_of(warehouse, device_key)
    update = ("UPDATE gold.fact_device_health_day SET received_readings = %s, uptime_pct = %s "
              "WHERE date_key = %s AND device_key = %s")
    execute(warehouse, update, (12, round(100 * 12 / expected, 2), date_key, device_key))
    evaluate_alerts(warehouse, webhook, day)
    check = evaluate_alerts(warehouse, webhook, day)
    [alert] = alerts_of(warehouse, "sensor_silent", device_key)
    assert alert[:5] == (apartment, room, device, day, day) and alert[6] is None
    assert alert[5] == {"received_readings": 12, "expected_readings": expected, "uptime_pct": round(1200 / expected, 2),
                        "apartment_best_uptime_pct": best}
    [posted] = posted_about(received, "sensor_silent", device)
    assert posted["apartment_id"] == apartment and posted["room_name"] == room and device in posted["text"]
    assert len(open_in_check(check, "sensor_silent", device)) == 1 and not check.passed

    execute(warehouse, update, (readings, uptime, date_key, device_key))
    assert_closed_by(warehouse, webhook, received, "sensor_silent", device_key, device, day)


def test_a_counter_reset_opens_one_alert_with_its_count_and_first_time_until_it_is_gone(alerting):
    warehouse, webhook, received = alerting
    [(device_key, date_key)] = query(warehouse, "SELECT device_key, min(date_key) FROM gold.fact_energy_minute "
                                                "WHERE adjustment = 'reset' GROUP BY 1 ORDER BY 1 LIMIT 1")
    [(faults, adjustments, first)] = query(warehouse, """
        SELECT count(*), array_agg(DISTINCT adjustment ORDER BY adjustment), min(datetime_key)
        FROM gold.fact_energy_minute
        WHERE device_key = %s AND date_key = %s AND adjustment IN ('reset', 'implausible', 'backwards')""",
                                           (device_key, date_key))
    day = f"{str(date_key)[:4]}-{str(date_key)[4:6]}-{str(date_key)[6:]}"
    apartment, room, device = names_of(warehouse, device_key)
    evaluate_alerts(warehouse, webhook, day)
    evaluate_alerts(warehouse, webhook, day)
    first_at = datetime.strptime(str(first), "%Y%m%d%H%M").strftime("%Y-%m-%dT%H:%MZ")
    assert alerts_of(warehouse, "counter_fault", device_key) == [
        (apartment, room, device, day, day, {"faults": faults, "adjustments": adjustments, "first_at": first_at},
         None, "200")]
    assert "reset" in adjustments
    [posted] = posted_about(received, "counter_fault", device)
    assert f"first_at {first_at}" in posted["text"]
    with warehouse.connect() as connection, connection.cursor() as cursor:  # exported and erased with its apartment
        alert_tables = [table for table in apartment_tables(cursor) if table.name.startswith("governance.")]
        counts = count_rows(cursor, alert_tables, apartment)
        assert counts["governance.device_alerts"] >= 1 and counts["governance.alerts"] >= 1

    execute(warehouse, "UPDATE gold.fact_energy_minute SET adjustment = NULL WHERE device_key = %s "
                          "AND date_key = %s AND adjustment IN ('reset', 'implausible', 'backwards')",
               (device_key, date_key))
    assert_closed_by(warehouse, webhook, received, "counter_fault", device_key, device, day)


def test_a_stuck_measurement_opens_one_alert_with_its_value_and_span_until_it_varies_again(alerting):
    warehouse, webhook, received = alerting
    day, before = DAYS[1], DAYS[0]
    check = evaluate_alerts(warehouse, webhook, day)  # the generated day: no measurement is stuck
    assert [alert for alert in check.metadata["alerts"].data if alert["rule"] == "value_stuck"] == []
    [(apartment, sensor_id, changes)] = query(warehouse, """
        SELECT apartment, sensor_id, count(*) FILTER (WHERE changed) FROM (
            SELECT apartment, sensor_id, value IS DISTINCT FROM lag(value) OVER (
                       PARTITION BY apartment, sensor_id ORDER BY "timestamp") AS changed
            FROM silver.sensor_events WHERE field = 'co2_ppm' AND partition_date = %s) AS readings
        GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 1""", (before,))
    assert changes >= 24  # it varies
    stuck = "apartment = %s AND sensor_id = %s AND field = 'co2_ppm' AND \"timestamp\" >= %s AND \"timestamp\" < %s"
    held = STUCK_MINUTES + 60  # from 06:00 UTC
    until = (datetime.fromisoformat(f"{day}T06:00") + timedelta(minutes=held - 1)).strftime("%H:%M")
    span = (apartment, sensor_id, f"{day} 06:00+00", f"{day} {until}:59+00")
    originals = query(warehouse, f'SELECT "timestamp", value FROM silver.sensor_events WHERE {stuck}', span)
    execute(warehouse, f"UPDATE silver.sensor_events SET value = 777 WHERE {stuck}", span)
    evaluate_alerts(warehouse, webhook, day)
    check = evaluate_alerts(warehouse, webhook, day)
    [(device_key, room)] = query(warehouse, "SELECT device_key, room_name FROM gold.dim_device JOIN gold.dim_room "
                                            "USING (room_key) WHERE device_id = %s", (f"{apartment}:{sensor_id}",))
    [alert] = alerts_of(warehouse, "value_stuck", device_key)
    assert alert[:5] == (apartment, room, f"{apartment}:{sensor_id}", day, day) and alert[6] is None
    assert alert[5] == {"stuck": [{"field": "co2_ppm", "value": 777, "readings": len(originals), "minutes": held,
                                   "since": f"{day}T06:00Z", "until": f"{day}T{until}Z"}]}
    assert len(originals) >= STUCK_MINUTES and alert[7] == "200"
    assert len(posted_about(received, "value_stuck", f"{apartment}:{sensor_id}")) == 1 and not check.passed

    for timestamp, value in originals:
        execute(warehouse, 'UPDATE silver.sensor_events SET value = %s WHERE apartment = %s AND sensor_id = %s '
                           "AND field = 'co2_ppm' AND \"timestamp\" = %s", (value, apartment, sensor_id, timestamp))
    assert_closed_by(warehouse, webhook, received, "value_stuck", device_key, f"{apartment}:{sensor_id}", day)


def test_a_house_meter_below_its_devices_opens_one_alert_on_the_meter_until_the_balance_holds(alerting):
    warehouse, webhook, received = alerting
    day, date_key = DAYS[2], int(DAYS[2].replace("-", ""))
    check = evaluate_alerts(warehouse, webhook, day)  # the generated day balances
    assert [alert for alert in check.metadata["alerts"].data if alert["rule"] == "house_balance"] == []
    [(meter_key, apartment_key)] = query(warehouse, "SELECT device_key, apartment_key FROM gold.dim_device "
                                                    "WHERE sensor_type = 'consumption' ORDER BY 1 LIMIT 1")
    apartment, room, meter = names_of(warehouse, meter_key)
    scale = "UPDATE gold.fact_energy_minute SET energy_wh = energy_wh * %s WHERE device_key = %s AND date_key = %s"
    execute(warehouse, scale, (1 / 32, meter_key, date_key))  # the meter sees a 32nd of what it did
    [(minutes, comparable, house, devices)] = query(warehouse, """
        SELECT count(*), count(*) FILTER (WHERE is_comparable), sum(house_wh) FILTER (WHERE is_comparable),
               sum(devices_wh) FILTER (WHERE is_comparable)
        FROM gold.house_balance_minute WHERE apartment_key = %s AND date_key = %s""", (apartment_key, date_key))
    assert devices > 1.05 * house
    evaluate_alerts(warehouse, webhook, day)
    check = evaluate_alerts(warehouse, webhook, day)
    [alert] = alerts_of(warehouse, "house_balance", meter_key)
    assert alert[:5] == (apartment, room, meter, day, day) and alert[6] is None and alert[7] == "200"
    assert alert[5] == {"minutes": minutes, "comparable_minutes": comparable, "house_wh": round(house, 1),
                        "devices_wh": round(devices, 1), "min_coverage": 0.5, "tolerance": 0.05}
    assert len(posted_about(received, "house_balance", meter)) == 1 and not check.passed

    execute(warehouse, scale, (32, meter_key, date_key))
    assert_closed_by(warehouse, webhook, received, "house_balance", meter_key, meter, day)
