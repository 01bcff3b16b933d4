"""Test session platform: its own runtime folder, free ports, and the real services started on loopback.

Services are started once per session and stopped at the end. A missing server binary makes the tests
that need it fail loudly (no skipping). The caller's configuration variables are removed before any test
module is imported, so that no test depends on the environment it runs in.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from demo.generator.apartments import apartments
from demo.generator.generate import GenerationRequest, generate
from demo.generator.reference import reference_tables
from demo.mariadb import EmbeddedMariaDB
from demo.samba import EmbeddedSamba
from demo.settings import DEMO_VARIABLES, load_demo_settings
from demo.sftp_server import EmbeddedSFTP
from domotic_assets.silver.reference import silver_reference_tables
from domotic_assets.silver.sensor_events import silver_sensor_events
from domotic_assets.silver.weather import silver_weather_forecasts
from domotic_config.settings import Settings
from domotic_config.variables import VARIABLES
from domotic_ops.postgres import EmbeddedPostgres
from domotic_ops.procs import free_port
from resources.bronze import DEFAULT_APARTMENTS, BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from resources.reference_db import ReferenceDatabaseResource
from resources.smb import SMBShareResource
from sensors_io.bronze_layout import weather_bronze_path
from sensors_io.filenames import FilenameError, parse_weather_filename
from sensors_io.sensor_copy import copy_day
from tests.gold_build import DAYS, build

# Three apartments (more than the two reference ones), three days, every malformed case.
TEST_REQUEST = GenerationRequest(start=date(2023, 10, 28), days=3, apartments=3, seed=7, malformed=True)


def pytest_addoption(parser):
    parser.addoption("--dbt-runner", choices=["in-process", "cli"],
                     help="DBT_RUNNER of the gold runs under test (default: the declared default)")


def pytest_configure(config):
    for variable in (*VARIABLES, *DEMO_VARIABLES):
        os.environ.pop(variable.name, None)
    if config.getoption("dbt_runner"):
        os.environ["DBT_RUNNER"] = config.getoption("dbt_runner")
    # A shell that starts the suite in the background (`.ci/run &`) makes it ignore SIGINT, and each Dagster run in
    # process then gives SIGTERM the same disposition, which the servers a test starts inherit: the tests that stop
    # a process or interrupt a run need Python's defaults.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def settings() -> Settings:
    # A short path: unix socket paths are limited to 107 bytes.
    runtime = Path(tempfile.mkdtemp(prefix="dmt-"))
    runtime.chmod(0o755)
    overrides = {"DOMOTIC_PG_PORT": str(free_port()), "DEMO_MYSQL_PORT": str(free_port()),
                 "DEMO_SFTP_PORT": str(free_port()), "DAGSTER_PORT": str(free_port())}
    yield load_demo_settings(runtime=runtime, overrides=overrides, read_environment=False)
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture(scope="session")
def generated(settings: Settings) -> dict:
    """The test data set written into the test runtime's demo share and sFTP folder."""
    folder = EmbeddedSFTP(settings).folder
    return generate(TEST_REQUEST, Path(settings["SMB_PATH"]), folder, settings.runtime / "demo" / "manifest.json")


@pytest.fixture(scope="session")
def bronze_of(settings: Settings, generated: dict) -> Callable[[Path, Iterable[str]], Path]:
    """Copies the generated share's files of some days into a bronze folder, as the sensor job copies them."""
    share = SMBShareResource(path=settings["SMB_PATH"])

    def copy(root: Path, days: Iterable[str]) -> Path:
        for key in days:
            copy_day(share, root, DEFAULT_APARTMENTS, key, time.time())
        return root

    return copy


@pytest.fixture(scope="session")
def postgres(settings: Settings):
    server = EmbeddedPostgres(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fresh_database(settings: Settings, postgres):
    """A function that (re)creates a warehouse database and returns its URL: empty with the access set-up
    (schemas, roles, row-level security), or without it (`access_set_up=False`, as on a server of one's own),
    or a copy of `template`; owned by `owner`, with CREATE granted to the application role."""
    def create(name: str, *, access_set_up: bool = True, template: str | None = None, owner: str = "domotic") -> str:
        admin = postgres.connect()
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
                           + f' OWNER "{owner}"')
            cursor.execute(f'GRANT CREATE ON DATABASE "{name}" TO domotic')
        admin.close()
        if access_set_up and template is None:
            postgres.prepare_warehouse(name)
        return settings["DB_URL"].rsplit("/", 1)[0] + "/" + name
    return create


@pytest.fixture(scope="session")
def bi_login(settings: Settings, postgres):
    """A function that creates a read-only BI login of a warehouse database, seeing the given apartment keys
    (None: member of domotic_bi_all, every apartment), and returns a connection as that login."""
    created = itertools.count()

    def login(database: str, apartments: list[int] | None):
        name, password = f"bi_{database}_{next(created)}", secrets.token_urlsafe(16)
        admin = postgres.connect(database)
        admin.autocommit = True
        with admin.cursor() as cursor:
            group = "domotic_bi_all" if apartments is None else "domotic_bi"
            cursor.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD %s IN ROLE {group}', (password,))
            for apartment in apartments or []:
                cursor.execute("INSERT INTO governance.apartment_access VALUES (%s, %s)", (name, apartment))
        admin.close()
        return psycopg2.connect(host="127.0.0.1", port=postgres.port, user=name, password=password, dbname=database)
    return login


@pytest.fixture(scope="session")
def bronze_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gold") / "bronze"


@pytest.fixture(scope="session")
def warehouse(settings, fresh_database, bronze_of, sftp_server, mariadb, bronze_root) -> PostgresResource:
    """Silver of the three generated days (the autumn DST change in the middle) in database `gold_test`."""
    warehouse = PostgresResource(db_url=fresh_database("gold_test"))
    bronze = bronze_of(bronze_root, DAYS)
    for csv in sftp_server.folder.glob("Pred_*.csv"):
        try:
            day = parse_weather_filename(csv.name)
        except FilenameError:
            continue
        target = weather_bronze_path(bronze, day, csv.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(csv.read_bytes())
    resources = {"warehouse": warehouse, "bronze": BronzeResource(root=str(bronze)), "rules": CleaningRulesResource(),
                 "reference_db": ReferenceDatabaseResource(url=settings["MYSQL_URL"])}
    window = {"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[-1]}
    dg.materialize([silver_sensor_events], resources=resources, tags=window)
    dg.materialize([silver_weather_forecasts], resources=resources,
                   tags={**window, "dagster/asset_partition_range_start": "2023-10-26"})
    dg.materialize([silver_reference_tables], resources=resources)
    return warehouse


@pytest.fixture(scope="session")
def built(warehouse):
    results = build(warehouse, views=True)
    assert all(r.success for r in results)
    return results


@pytest.fixture(scope="session")
def sftp_server(settings: Settings, generated: dict):
    server = EmbeddedSFTP(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb(settings: Settings):
    server = EmbeddedMariaDB(settings)
    server.start()
    server.load_reference(reference_tables(apartments(TEST_REQUEST.apartments), TEST_REQUEST.start,
                                           TEST_REQUEST.seed))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def samba(settings: Settings, generated: dict):
    """Samba on a free loopback port sharing the generated share folder (SMB protocol backend)."""
    server = EmbeddedSamba(settings.runtime / "samba", Path(settings["SMB_PATH"]), free_port(),
                           settings["DEMO_SFTP_PASSWORD"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sftp_config(settings: Settings) -> dict:
    """SFTPResource settings for the test sFTP server (short timeout)."""
    return dict(host=settings["SFTP_HOST"], port=int(settings["SFTP_PORT"]), user=settings["SFTP_USER"],
                password=settings["SFTP_PASSWORD"], path=settings["SFTP_PATH"],
                known_hosts=settings["SFTP_KNOWN_HOSTS"], timeout=10)


LAYERS = ("unit", "component", "integration")


def pytest_collection_modifyitems(config, items):
    """Every test belongs to exactly one layer (`-m unit` runs in seconds without any service)."""
    unmarked = [item.nodeid for item in items if sum(item.get_closest_marker(m) is not None for m in LAYERS) != 1]
    if unmarked:
        raise pytest.UsageError("tests without exactly one of the markers unit/component/integration: "
                                + ", ".join(unmarked))


@pytest.fixture
def receiver():
    """A local webhook receiver: its URL and the JSON bodies POSTed to it."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
