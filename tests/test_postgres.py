"""The embedded PostgreSQL cluster: databases, schemas, authentication, loopback only, start/stop by PID."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import polars as pl
import psycopg2
import pytest
import sqlalchemy as sa

from domotic_assets.silver import store
from domotic_config.variables import DAGSTER_DB
from domotic_ops.backup import backup_urls, dump, restore
from domotic_ops.check import check_warehouse
from domotic_ops.health import freshness
from resources.postgres import PostgresResource, copy_frame

pytestmark = pytest.mark.integration


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_warehouse_has_schemas_and_dagster_database(postgres, settings):
    engine = sa.create_engine(settings["DB_URL"])
    with engine.connect() as connection:
        schemas = set(connection.execute(sa.text("SELECT nspname FROM pg_namespace")).scalars())
        databases = set(connection.execute(sa.text("SELECT datname FROM pg_database")).scalars())
        listen = connection.execute(sa.text("SHOW listen_addresses")).scalar()
        user = connection.execute(sa.text("SELECT current_user")).scalar()
    engine.dispose()
    assert {"silver", "gold"} <= schemas
    assert DAGSTER_DB in databases
    assert listen == "127.0.0.1"
    assert user == "domotic"


def test_wrong_password_is_refused(postgres, settings):
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host="127.0.0.1", port=postgres.port, user="domotic", password="wrong", dbname="domotic")


def test_copy_frame_loads_rows_with_quoted_identifiers(postgres, settings):
    warehouse = PostgresResource(db_url=settings["DB_URL"])
    frame = pl.DataFrame({"room": ["Living Room", "Bathroom", None], "value": [1.5, None, 3.0]})
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute('CREATE TEMP TABLE "copy test" (room text, value float)')
        assert copy_frame(cursor, frame, "copy test") == 3
        cursor.execute('SELECT room, value FROM "copy test" ORDER BY value NULLS FIRST')
        assert cursor.fetchall() == [("Bathroom", None), ("Living Room", 1.5), (None, 3.0)]


def test_the_platform_s_sessions_run_without_jit(postgres, settings):
    """JIT compiled a 2 ms ledger check for 3.1 s after every live tick (its plan covers every day partition)."""
    warehouse = PostgresResource(db_url=settings["DB_URL"])
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
    assert warehouse.dbt_environment()["PGOPTIONS"] == "-c jit=off"


def test_stop_and_start_again(postgres):
    pid = postgres.status()
    assert postgres.stop() is True
    assert postgres.status() == "stopped" and not port_open(postgres.port)
    assert postgres.stop() is False
    postgres.start()
    postgres.start()  # idempotent
    assert postgres.is_running() and port_open(postgres.port) and postgres.status() != pid


def test_the_application_role_is_least_privileged_and_the_access_set_up_runs_again(postgres, settings):
    postgres.prepare_warehouse("domotic")  # idempotent: the set-up runs on every start
    with PostgresResource(db_url=settings["DB_URL"]).connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                       "WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute("SELECT grantee, apartment_key FROM governance.apartment_access ORDER BY 1, 2")
        seen = cursor.fetchall()
    admin = postgres.connect("domotic")
    with admin, admin.cursor() as cursor:
        cursor.execute("SELECT grantee, apartment_key FROM governance.apartment_access ORDER BY 1, 2")
        every = cursor.fetchall()
    admin.close()
    assert ("domotic", None) in seen  # its own row: every apartment
    assert seen == every  # it reads (and a GDPR erasure deletes) every row of the mapping; BI logins their own


def test_check_names_the_missing_access_set_up(fresh_database, settings):
    url = fresh_database("no_access_setup", access_set_up=False)
    with pytest.raises(RuntimeError, match="access set-up is missing in no_access_setup.*domotic_ops access-sql"):
        check_warehouse({"warehouse": PostgresResource(db_url=url)}, settings)


def test_health_grades_each_source_by_the_age_of_its_newest_data(fresh_database):
    warehouse = PostgresResource(db_url=fresh_database("health_test"))
    with warehouse.connect() as connection, connection.cursor() as cursor:
        store.ensure_schema(cursor)
        cursor.execute("INSERT INTO silver.weather_forecasts VALUES "
                       "('2023-10-02 06:00+00', 'Sion', 0, '2023-10-02', 'temperature', 12.5, 'C', false, 'Pred.csv')")
        grades = {age: {f.source: f.verdict for f in freshness(cursor, datetime(2023, 10, 2, tzinfo=timezone.utc) + age)}
                  for age in (timedelta(hours=2), timedelta(days=3), timedelta(days=10))}
    assert [grade["weather forecasts"] for grade in grades.values()] == ["ok", "warn", "FAIL"]
    assert grades[timedelta(hours=2)]["sensor readings"] == "FAIL"  # no readings at all
    assert grades[timedelta(hours=2)]["forecasts issued"] == "FAIL"  # gold.fact_prediction not built yet


def test_a_backup_restores_into_an_empty_database_with_its_rows_and_access_rules(postgres, settings, fresh_database,
                                                                              tmp_path):
    source = PostgresResource(db_url=fresh_database("backup_source"))
    with source.connect() as connection, connection.cursor() as cursor:
        store.ensure_schema(cursor)
        cursor.execute("INSERT INTO silver.file_ledger (file, source, apartment, partition_date, rows, checksum) "
                       "SELECT 'f' || i, 'sensor', 'jimmy', '2023-10-01', i, 'x' FROM generate_series(1, 500) AS i")
    admin = postgres.connect("backup_source")
    with admin, admin.cursor() as cursor:
        cursor.execute("INSERT INTO governance.apartment_access VALUES ('someone', 42)")
    admin.close()
    urls, options = backup_urls(settings)
    dumped = dump(urls[0].rsplit("/", 1)[0] + "/backup_source", tmp_path, extra=options)
    target = fresh_database("backup_target")  # then emptied: a restore goes into an empty database
    admin = postgres.connect("backup_target")
    with admin, admin.cursor() as cursor:
        cursor.execute("DROP SCHEMA governance, silver, gold CASCADE")
    admin.close()
    restore(urls[0], dumped, "backup_target")
    restored = PostgresResource(db_url=target)
    with restored.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(rows) FROM silver.file_ledger")
        assert cursor.fetchone() == (500, 125250)
        cursor.execute("SELECT relrowsecurity FROM pg_class WHERE oid = 'governance.apartment_access'::regclass")
        assert cursor.fetchone() == (True,)
    admin = postgres.connect("backup_target")
    with admin, admin.cursor() as cursor:
        cursor.execute("SELECT grantee, apartment_key FROM governance.apartment_access ORDER BY 1")
        assert cursor.fetchall() == [("domotic", None), ("domotic_bi_all", None), ("someone", 42)]
    admin.close()
