"""The dashboards: Apache Superset started by the platform's service on a copy of the built test gold, with a
manager and a resident, opened in Chromium (headless). Every chart draws without an error; what the charts'
data API returns equals the warehouse queried as the same person's login, a resident only ever gets their own
apartment (dashboards, the chart data API, filters), SQL Lab and the building dashboard are closed to them, and
the figures of a chosen day equal gold's. Screenshots in .runtime/screenshots/."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from datetime import date
from decimal import Decimal

import psycopg2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import Page, sync_playwright

from bi.logins import USERNAME, check_username, warehouse_password
from domotic_assets.gold.project import DBT_EXECUTABLE, DBT_PROJECT_DIR
from domotic_assets.ml import store
from domotic_config.settings import Settings
from domotic_config.variables import ROOT
from domotic_ops.cli import main as operations_cli
from domotic_ops.procs import free_port
from domotic_ops.superset import SupersetService, login_sql
from resources.postgres import PostgresResource
from tests.gold_build import DAYS

SCREENSHOTS = ROOT / ".runtime" / "screenshots"
RESIDENT = "resident_one"
TODAY, TOMORROW = date.fromisoformat(DAYS[-1]), date(2023, 10, 31)  # gold's newest day is the dashboards' today
CHOSEN_DAY = DAYS[1]  # the autumn clock change: 25 hours


@pytest.mark.unit
@given(st.text(max_size=45))
def test_a_user_name_is_a_plain_login_name_or_refused(name):
    if USERNAME.fullmatch(name):
        assert check_username(name) == name
    else:
        with pytest.raises(ValueError, match="not a valid user name"):
            check_username(name)


@pytest.mark.unit
@given(st.from_regex(USERNAME, fullmatch=True), st.from_regex(USERNAME, fullmatch=True), st.text(min_size=1))
def test_each_user_and_key_has_its_own_warehouse_password(one, other, key):
    password = warehouse_password(key, one)
    assert password == warehouse_password(key, one) and len(password) == 64
    assert (password == warehouse_password(key, other)) == (one == other)
    assert password != warehouse_password(key + "x", one)


@pytest.mark.unit
def test_a_resident_has_one_apartment_and_a_manager_none():
    with pytest.raises(ValueError):
        login_sql("alice", "resident", "secret", None)
    with pytest.raises(ValueError):
        login_sql("alice", "manager", "secret", "jimmy")
    with pytest.raises(ValueError):
        login_sql('alice"; DROP ROLE domotic; --', "manager", "secret", None)


def write_forecasts(warehouse: PostgresResource) -> None:
    """Forecasts as the ML assets store them (their schema, a test model): power of every room with a plug for
    gold's newest day (80 % of what was measured, the interval ± 50 %), occupancy of every room for the next."""
    store.ensure_schema(warehouse)
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO gold.fact_prediction (kind, model_name, model_version, target, apartment_key, room_key,
                                              window_start, issue_time, value, lower_value, upper_value, run_id)
            SELECT 'forecast', 'test', 'power-test', 'power', d.apartment_key, d.room_key, w.start,
                   %(today)s::timestamp AT TIME ZONE 'Europe/Zurich' - interval '15 hours 30 minutes',
                   0.8 * sum(e.energy_wh) * 4, 0.4 * sum(e.energy_wh) * 4, 1.2 * sum(e.energy_wh) * 4, 'test'
            FROM gold.fact_energy_minute e
            JOIN gold.dim_device d ON d.device_key = e.device_key AND d.sensor_type = 'plug'
            CROSS JOIN LATERAL (SELECT to_timestamp(e.datetime_key::text, 'YYYYMMDDHH24MI')::timestamp
                                       AT TIME ZONE 'UTC' AS minute) m
            CROSS JOIN LATERAL (SELECT date_bin('15 minutes', m.minute, timestamptz '2000-01-01') AS start) w
            WHERE e.date_key = %(today_key)s
            GROUP BY d.apartment_key, d.room_key, w.start""", {"today": str(TODAY), "today_key": int(DAYS[-1].replace("-", ""))})
        cursor.execute("""
            INSERT INTO gold.fact_prediction (kind, model_name, model_version, target, apartment_key, room_key,
                                              window_start, issue_time, probability, run_id)
            SELECT 'forecast', 'test', 'occupancy-test', 'occupancy', r.apartment_key, r.room_key, w,
                   %(tomorrow)s::timestamp AT TIME ZONE 'Europe/Zurich' - interval '15 hours 30 minutes',
                   0.25 + 0.5 * (extract(hour FROM w AT TIME ZONE 'Europe/Zurich') BETWEEN 7 AND 22)::integer, 'test'
            FROM gold.dim_room r
            CROSS JOIN generate_series(%(tomorrow)s::timestamp AT TIME ZONE 'Europe/Zurich',
                                       (%(tomorrow)s::date + 1)::timestamp AT TIME ZONE 'Europe/Zurich'
                                       - interval '15 minutes', interval '15 minutes') AS w""",
                       {"tomorrow": str(TOMORROW)})


@pytest.fixture(scope="module")
def dashboards_warehouse(built, fresh_database) -> PostgresResource:
    """A copy of the built test gold with forecasts; the view that reads them built again (dbt)."""
    warehouse = PostgresResource(db_url=fresh_database("dashboards", template="gold_test"))
    write_forecasts(warehouse)
    result = subprocess.run([DBT_EXECUTABLE, "run", "--select", "dash_forecast_window", "--project-dir",
                             str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
                             str(DBT_PROJECT_DIR / "target" / "test-dashboards")],
                            env={**os.environ, **warehouse.dbt_environment()}, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    return warehouse


@pytest.fixture(scope="module")
def superset(settings, postgres, dashboards_warehouse):
    """Superset serving the copy, with the manager and one resident (of the first apartment)."""
    env = {**settings.env, "DB_URL": dashboards_warehouse.db_url, "SUPERSET_PORT": str(free_port())}
    service = SupersetService(Settings(env=env, user=settings.user), postgres)
    service.start()
    apartment = rows(dashboards_warehouse, "SELECT min(apartment_id) FROM gold.dim_apartment")[0][0]
    password = secrets.token_urlsafe(12)
    service.save_user(RESIDENT, "resident", password, apartment)
    yield {"service": service, "apartment": apartment,
           "people": {"manager": (service.settings["SUPERSET_ADMIN_USER"], service.settings["SUPERSET_ADMIN_PASSWORD"]),
                      "resident": (RESIDENT, password)}}
    service.stop()


def rows(warehouse: PostgresResource, text: str, params=()) -> list[tuple]:
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(text, params)
        return cursor.fetchall()


def as_login(superset: dict, warehouse: PostgresResource, name: str, text: str, params=()) -> list[tuple]:
    """A query as the person's own warehouse login (the password Superset derives)."""
    kwargs = warehouse.connection_kwargs()
    connection = psycopg2.connect(host=kwargs["host"], port=kwargs["port"], dbname=kwargs["dbname"], user=name,
                                  password=warehouse_password(superset["service"].settings["SUPERSET_LOGIN_KEY"], name))
    try:
        with connection.cursor() as cursor:
            cursor.execute(text, params)
            return cursor.fetchall()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        yield chromium
        chromium.close()


def logged_in(browser, superset: dict, who: str) -> Page:
    page = browser.new_page(viewport={"width": 1600, "height": 1400})
    name, password = superset["people"][who]
    page.goto(f"{superset['service'].url}/login/")
    page.fill("#username", name)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
    return page


def api(page: Page, superset: dict, path: str, payload: dict | None = None) -> tuple[int, dict]:
    """A call of Superset's REST API in the page's session (its cookie and CSRF token)."""
    base = superset["service"].url
    if payload is None:
        response = page.request.get(f"{base}{path}")
    else:
        token = page.request.get(f"{base}/api/v1/security/csrf_token/").json()["result"]
        response = page.request.post(f"{base}{path}", data=json.dumps(payload),
                                     headers={"Content-Type": "application/json", "X-CSRFToken": token,
                                              "Referer": base})
    try:
        return response.status, response.json()
    except ValueError:
        return response.status, {"text": response.text()[:500]}


def dataset_id(page: Page, superset: dict, name: str) -> int:
    query = json.dumps({"filters": [{"col": "table_name", "opr": "eq", "value": name}]})
    status, found = api(page, superset, f"/api/v1/dataset/?q={query}")
    assert status == 200 and found["count"] == 1, found
    return found["result"][0]["id"]


def chart_data(page: Page, superset: dict, dataset: str, columns: list[str], metrics: list[str],
               filters: list[dict] = ()) -> tuple[int, list[dict]]:
    """Rows of a dataset through the chart data API, as the page's user."""
    payload = {"datasource": {"id": dataset_id(page, superset, dataset), "type": "table"},
               "queries": [{"columns": columns, "metrics": metrics, "filters": list(filters), "row_limit": 10000,
                            "orderby": [[columns[0], True]] if columns else []}],
               "result_format": "json", "result_type": "full"}
    status, body = api(page, superset, "/api/v1/chart/data", payload)
    return status, body.get("result", [{}])[0].get("data", body)


CHARTS = "[data-test='chart-container'], .chart-container"
ALERTS = ".ant-alert-error, [role='alert']"  # a chart's error, a toast, a flashed message
CHART_ERRORS = ", ".join(f".dashboard-component-chart-holder {alert}" for alert in ALERTS.split(", "))  # replace a chart
LOADING = "[data-test='loading-indicator'], .loading"


def open_dashboard(page: Page, superset: dict, slug: str, screenshot: str, charts: int) -> int:
    """Open a dashboard, wait until its `charts` have drawn (or one of them failed) with nothing still loading,
    save a screenshot; the number of charts drawn. A dashboard that draws fewer fails with the page's address
    and every message it shows (a toast or a flashed message does not end the wait: it may come and go)."""
    page.goto(f"{superset['service'].url}/superset/dashboard/{slug}/")
    page.wait_for_function("""([n, charts, errors, loading]) => (document.querySelectorAll(charts).length >= n
                                                                  || document.querySelectorAll(errors).length > 0)
                                                                 && document.querySelectorAll(loading).length === 0""",
                           arg=[charts, CHARTS, CHART_ERRORS, LOADING], timeout=120_000)
    page.wait_for_timeout(1500)  # the charts' own drawing after their data arrived
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    errors = page.locator(CHART_ERRORS).all_inner_texts()
    assert errors == [], errors
    drawn = page.locator(CHARTS).count()
    assert drawn >= charts, f"{drawn} of {charts} charts drawn at {page.url}: {page.locator(ALERTS).all_inner_texts()}"
    return drawn


@pytest.mark.integration
def test_the_manager_sees_every_chart_of_both_dashboards_drawn(browser, superset):
    page = logged_in(browser, superset, "manager")
    assert open_dashboard(page, superset, "building", "dashboard-building-manager.png", 9) == 9
    assert open_dashboard(page, superset, "my_apartment", "dashboard-my-apartment-manager.png", 6) == 6


@pytest.mark.integration
def test_a_resident_sees_their_apartment_drawn_and_nothing_else(browser, superset, dashboards_warehouse):
    page = logged_in(browser, superset, "resident")
    assert open_dashboard(page, superset, "my_apartment", "dashboard-my-apartment-resident.png", 6) == 6
    everyone = {r[0] for r in rows(dashboards_warehouse, "SELECT apartment_id FROM gold.dim_apartment")}
    assert len(everyone) > 1
    for dataset in ("dash_energy_day", "dash_device_energy_day", "dash_comfort_room_day", "dash_occupancy_room_day",
                    "dash_house_balance_day", "dash_device_health", "dash_forecast_window"):
        status, data = chart_data(page, superset, dataset, ["apartment_id"], [])
        assert status == 200, data
        assert {row["apartment_id"] for row in data} == {superset["apartment"]}, dataset
    # the building dashboard and SQL Lab are closed to a resident
    status, _ = api(page, superset, "/api/v1/dashboard/building")
    assert status in (403, 404)
    status, body = api(page, superset, "/api/v1/sqllab/execute/",
                       {"database_id": 1, "sql": "SELECT * FROM gold.dim_apartment", "runAsync": False})
    assert status in (401, 403), body


@pytest.mark.integration
def test_the_charts_data_equals_the_warehouse_as_the_same_person(browser, superset, dashboards_warehouse):
    """Energy, cost and CO2 minutes of a chosen day, by apartment and room, through the chart data API, equal
    what the person's own login reads from the gold facts (not the dashboard views)."""
    day_filter = [{"col": "date", "op": "==", "val": CHOSEN_DAY}]
    key = int(CHOSEN_DAY.replace("-", ""))
    for who in ("manager", "resident"):
        page = logged_in(browser, superset, who)
        name = superset["people"][who][0]
        status, energy = chart_data(page, superset, "dash_energy_day", ["apartment_id"], ["energy_kwh", "cost_chf"],
                                    day_filter)
        assert status == 200, energy
        expected = as_login(superset, dashboards_warehouse, name, """
            SELECT a.apartment_id, sum(c.energy_kwh), sum(c.cost_chf)
            FROM gold.energy_cost_day c
            JOIN gold.dim_device d USING (device_key)
            JOIN gold.dim_apartment a ON a.apartment_key = c.apartment_key
            WHERE c.date_key = %s AND d.sensor_type = CASE WHEN EXISTS (
                SELECT FROM gold.dim_device h WHERE h.apartment_key = c.apartment_key AND h.sensor_type = 'consumption')
                THEN 'consumption' ELSE 'plug' END
            GROUP BY a.apartment_id ORDER BY 1""", (key,))
        assert expected, who
        assert [(r["apartment_id"], round(Decimal(str(r["energy_kwh"])), 6), round(Decimal(str(r["cost_chf"])), 4))
                for r in energy] == [(a, round(Decimal(e), 6), round(Decimal(c), 4)) for a, e, c in expected]
        status, comfort = chart_data(page, superset, "dash_comfort_room_day", ["apartment_id", "room_name"],
                                     ["co2_minutes_above_1000"], day_filter)
        assert status == 200, comfort
        expected = as_login(superset, dashboards_warehouse, name, """
            SELECT a.apartment_id, r.room_name, count(*) FILTER (WHERE e.co2_ppm > 1000)
            FROM gold.fact_environment_minute e
            JOIN gold.dim_room r USING (room_key)
            JOIN gold.dim_apartment a ON a.apartment_key = e.apartment_key
            WHERE e.date_key = %s GROUP BY 1, 2 ORDER BY 1, 2""", (key,))
        assert sorted((r["apartment_id"], r["room_name"], r["co2_minutes_above_1000"]) for r in comfort) == expected
        assert sum(r[2] for r in expected) > 0  # the chosen day has CO2 above 1000 ppm somewhere
        seen = {r[0] for r in expected}
        if who == "resident":
            assert seen == {superset["apartment"]}
        else:
            assert len(seen) > 1


@pytest.mark.integration
def test_the_dashboards_are_imported_again_without_duplicates(superset):
    service = superset["service"]
    service.provision()
    page_count = rows(PostgresResource(db_url=service.metadata_url()),
                      "SELECT (SELECT count(*) FROM dashboards), (SELECT count(*) FROM slices), (SELECT count(*) FROM tables)")
    assert page_count == [(2, 15, 9)]


@pytest.mark.integration
def test_adding_and_removing_a_resident_is_one_command_each(superset, dashboards_warehouse, monkeypatch, capsys):
    """`domotic_ops bi-user add` creates the Superset account, the login and its mapping row; it refuses an
    unknown apartment and a role that is not a BI login; `remove` removes all three."""
    service = superset["service"]
    monkeypatch.setattr("domotic_ops.cli.load_settings", lambda: service.settings)
    metadata = PostgresResource(db_url=service.metadata_url())
    admin = dashboards_warehouse

    def held(name: str) -> tuple:
        return (rows(metadata, "SELECT count(*) FROM ab_user WHERE username = %s", (name,))[0][0],
                rows(admin, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (name,))[0][0],
                rows(admin, "SELECT count(*) FROM governance.apartment_access WHERE grantee = %s", (name,))[0][0])

    with pytest.raises(SystemExit) as refused:
        operations_cli(["bi-user", "add", "newcomer", "--apartment", "nobody-lives-here"])
    assert refused.value.code == 1 and "unknown" in capsys.readouterr().err
    for role in ("domotic", "postgres", "domotic_bi_all"):  # the application role, the superuser, a group
        with pytest.raises(SystemExit) as refused:
            operations_cli(["bi-user", "add", role, "--manager"])
        assert refused.value.code == 1 and "is not a BI login" in capsys.readouterr().err, role
        with pytest.raises(SystemExit) as refused:
            operations_cli(["bi-user", "remove", role])
        assert refused.value.code == 1 and "is not a BI login" in capsys.readouterr().err, role
    assert held("newcomer") == (0, 0, 0)
    with pytest.raises(SystemExit) as added:
        operations_cli(["bi-user", "add", "newcomer", "--apartment", superset["apartment"]])
    assert added.value.code == 0 and "newcomer: password" in capsys.readouterr().out
    assert held("newcomer") == (1, 1, 1)
    assert as_login(superset, admin, "newcomer", "SELECT DISTINCT apartment_id FROM gold.dim_apartment") == [
        (superset["apartment"],)]
    with pytest.raises(SystemExit) as removed:
        operations_cli(["bi-user", "remove", "newcomer"])
    assert removed.value.code == 0
    assert held("newcomer") == (0, 0, 0)


MUTATOR_PROBE = """
import sys
from types import SimpleNamespace
from flask import g
from sqlalchemy.engine import make_url
from superset.app import create_app
import superset_config

url = make_url(sys.argv[1])
def connect_as(username):
    try:
        return "probe:" + superset_config.DB_CONNECTION_MUTATOR(url, {}, username, None, None)[0].username
    except PermissionError:
        return "probe:refused"
print(connect_as("manager"))                      # outside a request: nobody is logged in
with create_app().app_context():
    print(connect_as("manager"))                  # no user
    g.user = SimpleNamespace(username="resident_one")
    print(connect_as("manager"))                  # another user than the one logged in
    print(connect_as("resident_one"))             # the logged-in user: their own login
"""


@pytest.mark.integration
def test_the_warehouse_is_read_as_the_logged_in_user_only(superset):
    """Superset's connection mutator refuses a connection without a logged-in user or for another user."""
    service = superset["service"]
    environment = service.environment()
    warehouse = (f"postgresql+psycopg2://superset_impersonates@{environment['SUPERSET_WAREHOUSE_HOST']}:"
                 f"{environment['SUPERSET_WAREHOUSE_PORT']}/{environment['SUPERSET_WAREHOUSE_DB']}")
    result = subprocess.run([str(service.venv / "bin" / "python"), "-c", MUTATOR_PROBE, warehouse],
                            env={**environment, "PYTHONPATH": str(ROOT / "bi")}, capture_output=True, text=True,
                            cwd=service.folder)
    assert result.returncode == 0, result.stderr[-3000:]
    probes = [line.split(":", 1)[1] for line in result.stdout.split() if line.startswith("probe:")]
    assert probes == ["refused", "refused", "refused", "resident_one"]
