"""Bronze → silver against the real PostgreSQL: counts that follow the contract, idempotent reruns,
quarantine with reasons, corrected files, weather rules, the reference import and the accounting check."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from domotic_assets.silver import store
from domotic_assets.silver.reference import silver_reference_tables
from domotic_assets.silver.sensor_events import silver_sensor_events
from domotic_assets.silver.weather import silver_weather_forecasts
from resources.bronze import BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from resources.reference_db import ReferenceDatabaseResource
from sensors_io.bronze_layout import bronze_day, weather_bronze_path
from sensors_io.filenames import parse_weather_filename
from sensors_io.weather_clean import clean_forecast

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DAYS = ["2023-10-28", "2023-10-29", "2023-10-30"]


@pytest.fixture(scope="module")
def bronze(bronze_of, sftp_server, tmp_path_factory) -> Path:
    """Bronze for the three generated days, plus the contract's two example files on 2023-10-03."""
    root = bronze_of(tmp_path_factory.mktemp("silver") / "bronze", DAYS)
    for example in FIXTURES.glob("*.json"):
        apartment = "jimmy" if "Jimmy" in example.name else "jeremie"
        target = root / apartment / "2023/10/03/14" / example.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(example, target)
    for csv in sftp_server.folder.glob("Pred_*.csv"):
        try:
            day = parse_weather_filename(csv.name)
        except ValueError:
            continue
        target = weather_bronze_path(root, day, csv.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(csv, target)
    return root


@pytest.fixture(scope="module")
def resources(settings, postgres, bronze) -> dict:
    return {"warehouse": PostgresResource(db_url=settings["DB_URL"]), "bronze": BronzeResource(root=str(bronze)),
            "rules": CleaningRulesResource(sensor_timezone="Europe/Zurich", weather_min_year=2023)}


def query(settings, text: str, params=()) -> list[tuple]:
    with PostgresResource(db_url=settings["DB_URL"]).connect() as connection, connection.cursor() as cursor:
        cursor.execute(text, params)
        return cursor.fetchall()


def run(asset, resources, start: str, end: str | None = None) -> dg.ExecuteInProcessResult:
    tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end or start}
    return dg.materialize([asset], resources=resources, tags=tags)


def event(result) -> dict:
    materialization = result.get_asset_materialization_events()[0].materialization
    return {k: v.value for k, v in materialization.metadata.items()}


def checks(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.get_asset_check_evaluations()}


def test_contract_examples_give_50_and_61_rows_in_local_time(settings, resources):
    result = run(silver_sensor_events, resources, "2023-10-03")
    assert all(checks(result).values())
    rows = dict(query(settings, "SELECT apartment, count(*) FROM silver.sensor_events "
                                "WHERE partition_date = '2023-10-03' GROUP BY 1"))
    assert rows == {"jimmy": 50, "jeremie": 61}
    stamp = query(settings, "SELECT DISTINCT \"timestamp\" AT TIME ZONE 'UTC' FROM silver.sensor_events "
                            "WHERE partition_date = '2023-10-03'")
    assert [s[0].isoformat() for s in stamp] == ["2023-10-03T12:37:00"]  # 14:37 CEST
    rooms = {r[0] for r in query(settings, "SELECT DISTINCT room FROM silver.sensor_events")}
    assert {"Bathroom", "Bedroom", "Living Room"} <= rooms and not rooms & {"Bhroom", "Bdroom", "Livingroom"}
    doors = query(settings, "SELECT count(*) FROM silver.sensor_events WHERE apartment = 'jimmy' "
                            "AND room = 'Office' AND field = 'open' AND partition_date = '2023-10-03'")
    assert doors == [(2,)]  # door and window of one room both kept


def test_generated_days_load_with_malformed_files_quarantined(settings, generated, resources, bronze):
    result = run(silver_sensor_events, resources, DAYS[0], DAYS[-1])
    assert all(checks(result).values()), checks(result)
    expected = {c["file"]: c["case"] for c in generated["cases"] if c["source"] == "share"}
    quarantined = dict(query(settings, "SELECT file, reason FROM silver.rejected_files WHERE source = 'sensor'"))
    reasons = {"bad_json": "invalid_json", "empty_file": "empty_file", "not_utf8": "not_utf8",
               "bad_filename": "bad_filename"}
    assert quarantined == {f: reasons[case] for f, case in expected.items() if case in reasons}
    # every other file loaded with the rows the flattening rules give
    per_apartment = {a["user"]: a["rows_per_file"] for a in generated["apartments"]}
    users = {"jimmy": "JimmyLoup", "jeremie": "JeremieVianin", "annameier": "AnnaMeier"}
    ledger = query(settings, "SELECT file, apartment, rows FROM silver.file_ledger WHERE source = 'sensor' "
                             "AND partition_date = ANY(%s::date[])", (DAYS,))
    # a null category or one non-numeric value skips just that category or reading; the rest loads
    extra = {"unknown_room": 3, "duplicate_sensor_type": 2, "non_numeric_value": -1}
    cases = {f: c for f, c in expected.items()}
    for file, apartment, rows in ledger:
        if cases.get(file) == "null_category":
            assert 0 < rows < per_apartment[users[apartment]], file
        else:
            assert rows == per_apartment[users[apartment]] + extra.get(cases.get(file), 0), file
    skipped = event(result)["readings_skipped"]
    assert skipped["null_category"] == 1 and skipped["non_numeric_value"] == 1
    files_in_bronze = sum(len(bronze_day(bronze, date.fromisoformat(d)).files) for d in DAYS)
    assert len(ledger) + len(quarantined) == files_in_bronze + 1  # + the badly named file kept aside
    outliers = query(settings, "SELECT source_file, field FROM silver.sensor_events WHERE is_outlier")
    outlier_files = {f for f, _ in outliers}
    for case in ("outlier_co2", "outlier_temperature", "outlier_negative_power", "outlier_battery"):
        assert next(f for f, c in expected.items() if c == case) in outlier_files
    assert query(settings, "SELECT count(*) FROM silver.sensor_events WHERE room = 'Attic'") == [(3,)]
    assert query(settings, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'silver' "
                           "AND column_name ILIKE '%%token%%'") == [(0,)]


def test_missing_datetime_falls_back_to_the_file_name(settings, generated, resources):
    run(silver_sensor_events, resources, DAYS[0], DAYS[-1])
    name = next(c["file"] for c in generated["cases"] if c["case"] == "missing_datetime")
    stamp = query(settings, "SELECT DISTINCT to_char(\"timestamp\" AT TIME ZONE 'Europe/Zurich', "
                            "'DD.MM.YYYY HH24MI') FROM silver.sensor_events WHERE source_file = %s", (name,))
    assert stamp == [(name[:15],)]


def test_reruns_are_idempotent(settings, resources):
    run(silver_sensor_events, resources, DAYS[0], DAYS[-1])
    signature = "SELECT count(*), md5(string_agg(source_file || sensor_id || field || value::text, ',' " \
                "ORDER BY source_file, sensor_id, field)) FROM silver.sensor_events WHERE partition_date = ANY(%s::date[])"
    first = query(settings, signature, (DAYS,))
    ledger = query(settings, "SELECT count(*), md5(string_agg(file || checksum, ',' ORDER BY file)) "
                             "FROM silver.file_ledger")
    run(silver_sensor_events, resources, DAYS[1])
    run(silver_sensor_events, resources, DAYS[0], DAYS[-1])
    assert query(settings, signature, (DAYS,)) == first
    assert query(settings, "SELECT count(*), md5(string_agg(file || checksum, ',' ORDER BY file)) "
                           "FROM silver.file_ledger") == ledger


def test_a_corrected_file_loads_and_leaves_the_quarantine(settings, generated, resources, bronze):
    run(silver_sensor_events, resources, DAYS[0], DAYS[-1])
    name = next(c["file"] for c in generated["cases"] if c["case"] == "bad_json")
    path = next(bronze.rglob(name))
    original = path.read_bytes()
    path.write_bytes((FIXTURES / "03.10.2023 1437_JimmyLoup_received.json").read_bytes()
                     .replace(b"03.10.2023 14:37", name[:13].encode() + b":" + name[13:15].encode()))
    try:
        run(silver_sensor_events, resources, name[6:10] + "-" + name[3:5] + "-" + name[0:2])
        assert query(settings, "SELECT count(*) FROM silver.rejected_files WHERE file = %s", (name,)) == [(0,)]
        assert query(settings, "SELECT rows FROM silver.file_ledger WHERE file = %s", (name,)) == [(50,)]
    finally:
        path.write_bytes(original)


def test_accounting_check_fails_for_a_file_neither_loaded_nor_quarantined(settings, resources, bronze):
    run(silver_sensor_events, resources, DAYS[2])
    stray = bronze / "jimmy/2023/10/30/12/30.10.2023 1259_Stray_received.json"
    stray.write_bytes(b"{}")
    try:
        names = {Path(p).name for p in bronze_day(bronze, date.fromisoformat(DAYS[2])).files}
        with resources["warehouse"].connect() as connection, connection.cursor() as cursor:
            assert store.unaccounted_files(cursor, "sensor", date.fromisoformat(DAYS[2]), names) == [
                f"{DAYS[2]}: {stray.name} is in bronze but neither loaded nor quarantined"]
    finally:
        stray.unlink()
    names = {Path(p).name for p in bronze_day(bronze, date.fromisoformat(DAYS[2])).files}
    with resources["warehouse"].connect() as connection, connection.cursor() as cursor:
        assert store.unaccounted_files(cursor, "sensor", date.fromisoformat(DAYS[2]), names) == []
        assert store.unaccounted_files(cursor, "sensor", date.fromisoformat(DAYS[2]), set()) != []


def test_weather_rules(settings, generated, resources, bronze):
    result = run(silver_weather_forecasts, resources, "2022-12-31", DAYS[-1])
    assert all(checks(result).values()), checks(result)
    assert query(settings, "SELECT count(*) FROM silver.weather_forecasts WHERE value = -99999") == [(0,)]
    assert query(settings, "SELECT count(*) FROM silver.weather_forecasts WHERE prediction = 0 "
                           "AND measurement IN ('PRED_GLOB_ctrl', 'PRED_TOT_PREC_ctrl')") == [(0,)]
    assert query(settings, "SELECT DISTINCT measurement FROM silver.weather_forecasts ORDER BY 1") == [
        ("PRED_GLOB_ctrl",), ("PRED_RELHUM_2M_ctrl",), ("PRED_TOT_PREC_ctrl",), ("PRED_T_2M_ctrl",)]
    assert query(settings, "SELECT min(extract(year FROM \"timestamp\")) FROM silver.weather_forecasts") == [(2023,)]
    # issue date from the file name; target = issue day + run + lead
    wrong = query(settings, """SELECT count(*) FROM silver.weather_forecasts
        WHERE extract(epoch FROM "timestamp" - prediction_date::timestamp AT TIME ZONE 'UTC')::int / 3600
              - prediction NOT IN (0, 3, 6, 9, 12, 15, 18, 21)""")
    assert wrong == [(0,)]
    latin1 = next(c["file"] for c in generated["cases"] if c["case"] == "latin1")
    sites = {r[0] for r in query(settings, "SELECT DISTINCT site FROM silver.weather_forecasts WHERE source_file = %s",
                                 (latin1,))}
    assert {"Aadorf / Tänikon", "Genève / Cointrin", "Zürich / Fluntern"} <= sites
    bad_rows = next(c["file"] for c in generated["cases"] if c["case"] == "bad_time_rows")
    content = weather_bronze_path(bronze, parse_weather_filename(bad_rows), bad_rows).read_bytes()
    frame, dropped, _ = clean_forecast(content, parse_weather_filename(bad_rows), 2023, bad_rows)
    assert dropped["bad_time"] == 5
    assert query(settings, "SELECT rows FROM silver.file_ledger WHERE file = %s", (bad_rows,)) == [(frame.height,)]
    assert query(settings, "SELECT reason FROM silver.rejected_files WHERE source = 'weather'") == [("missing_columns",)]
    empty = next(c["file"] for c in generated["cases"] if c["case"] == "empty_file" and c["source"] == "sftp")
    assert query(settings, "SELECT rows FROM silver.file_ledger WHERE file = %s", (empty,)) == [(0,)]


def test_reference_import_has_no_personal_column(settings, postgres, mariadb):
    resources = {"warehouse": PostgresResource(db_url=settings["DB_URL"]),
                 "reference_db": ReferenceDatabaseResource(url=settings["MYSQL_URL"])}
    assert dg.materialize([silver_reference_tables], resources=resources).success
    columns = {r[0].lower() for r in query(settings, "SELECT column_name FROM information_schema.columns "
                                                     "WHERE table_schema = 'silver' AND table_name = 'dim_buildings'")}
    assert {"idbuilding", "housename", "city", "nbpeople"} <= columns
    assert not columns & {"iduser", "firstname", "lastname", "latitude", "longitude", "address", "npa", "phonenumber"}
    tables = {r[0] for r in query(settings, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'silver'")}
    assert {"dim_rooms", "log_sensor_errors", "ref_power_snapshots"} <= tables
    assert not tables & {"users", "actions", "badges", "events"}
    assert query(settings, "SELECT data_type FROM information_schema.columns WHERE table_schema = 'silver' "
                           "AND table_name = 'dim_rooms' AND column_name = 'surface'") == [("double precision",)]
    with pytest.raises(psycopg2.Error):
        query(settings, 'SELECT "firstName" FROM silver.dim_buildings')


@pytest.mark.parametrize("table, columns", [("sensor_events", store.SENSOR_EVENT_COLUMNS),
                                            ("weather_forecasts", store.WEATHER_FORECAST_COLUMNS)])
def test_declared_columns_are_the_tables_columns(settings, resources, table, columns):
    with PostgresResource(db_url=settings["DB_URL"]).connect() as connection, connection.cursor() as cursor:
        store.ensure_schema(cursor)
        cursor.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                       (f"silver.{table}",))
        actual = cursor.fetchall()
    aliases = {"timestamp with time zone": "timestamptz"}
    assert [(name, aliases.get(kind, kind)) for name, kind in actual] == [(n, k) for n, (k, _) in columns.items()]


def test_a_current_silver_schema_is_not_locked_again(settings, resources):
    """The schema's DDL runs once per version of store.sql: a run does not wait behind a session (an
    autovacuum, say) holding a lock on a partition; a new version is applied."""
    warehouse = PostgresResource(db_url=settings["DB_URL"])
    with warehouse.connect() as connection, connection.cursor() as cursor:
        store.ensure_schema(cursor)
        cursor.execute("CREATE TABLE IF NOT EXISTS silver.sensor_events_20000101 PARTITION OF silver.sensor_events "
                       "FOR VALUES FROM ('2000-01-01') TO ('2000-01-02')")
    with warehouse.connect() as vacuuming, vacuuming.cursor() as holder:
        holder.execute("LOCK TABLE silver.sensor_events_20000101 IN SHARE UPDATE EXCLUSIVE MODE")
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            store.ensure_schema(cursor)
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("COMMENT ON SCHEMA silver IS 'domotic silver tables (an older version)'")
        with pytest.raises(psycopg2.errors.LockNotAvailable), warehouse.connect() as connection, \
                connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            store.ensure_schema(cursor)
    with warehouse.connect() as connection, connection.cursor() as cursor:
        store.ensure_schema(cursor)
        cursor.execute("SELECT obj_description('silver'::regnamespace, 'pg_namespace')")
        assert cursor.fetchone() == (store.SCHEMA_VERSION,)
        cursor.execute("DROP TABLE silver.sensor_events_20000101")


def test_silver_schema_is_created_on_a_server_of_ones_own(fresh_database):
    """A fresh database where the role may CREATE but nothing exists yet: the first run creates silver."""
    own = PostgresResource(db_url=fresh_database("own_warehouse", access_set_up=False, owner="postgres"))
    for _ in range(2):  # idempotent
        with own.connect() as connection, connection.cursor() as cursor:
            store.ensure_schema(cursor)
            cursor.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'silver'")
            assert cursor.fetchone() == ("domotic",)
            cursor.execute("SELECT count(*) FROM silver.sensor_events")
            assert cursor.fetchone() == (0,)
