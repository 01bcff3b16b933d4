"""Size limits on what the sources send: a sensor or forecast file over its limit is quarantined (`too_large`)
without being read, a sensor key too long for PostgreSQL's index is skipped and counted (the day loads), and
discovery stays linear however many badly named files the share holds."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import orjson
import pytest

from domotic_assets.ingestion.sensors import sftp_weather_files_sensor
from domotic_assets.silver.sensor_events import silver_sensor_events
from domotic_assets.silver.weather import silver_weather_forecasts
from domotic_config.variables import default
from resources.bronze import BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from resources.sftp import RemoteFile
from sensors_io.bronze_layout import weather_bronze_path
from sensors_io.discovery import Cursor, discover
from sensors_io.filenames import weather_filename
from sensors_io.flatten import MAX_KEY_CHARS, flatten_payload
from sensors_io.sensor_events import file_checksum, parse_files
from sensors_io.weather_clean import clean_forecast

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE = (FIXTURES / "03.10.2023 1437_JimmyLoup_received.json").read_bytes()
SENSOR_LIMIT = int(default("SENSOR_FILE_MAX_BYTES"))
# A 3 KB room key that does not compress: beyond PostgreSQL's index-row limit (2,704 bytes) in the reading key.
LONG_KEY = "".join(hashlib.sha256(str(part).encode()).hexdigest() for part in range(47))[:3000]


# --- pure helpers ------------------------------------------------------------------------------------------

@pytest.mark.unit
def test_the_declared_limits_sit_well_above_real_files():
    assert SENSOR_LIMIT == 1024 * 1024  # sensor files are 3-6 KB
    assert int(default("WEATHER_FILE_MAX_BYTES")) >= 50 * 1024 * 1024  # a real day's forecast is a few MB


@pytest.mark.unit
def test_a_sensor_file_over_the_limit_is_quarantined_unread(tmp_path):
    """A sparse file of 64 MiB costs no disk: reading it would cost 64 MiB per parse worker, and again per retry."""
    folder = tmp_path / "jimmy/2023/10/03/14"
    folder.mkdir(parents=True)
    small, large = folder / "03.10.2023 1437_JimmyLoup_received.json", folder / "03.10.2023 1438_JimmyLoup_received.json"
    small.write_bytes(EXAMPLE)
    with open(large, "wb") as file:
        file.truncate(64 * 1024 * 1024)
    frame, outcomes = parse_files([str(small), str(large)], str(tmp_path), "Europe/Zurich")
    loaded, refused = outcomes
    assert loaded.reason is None and frame.height == loaded.rows == 50
    assert refused.reason == "too_large" and refused.checksum == ""  # never read: no checksum
    assert str(64 * 1024 * 1024) in refused.detail and "SENSOR_FILE_MAX_BYTES" in refused.detail
    assert file_checksum(str(large)) == "" and file_checksum(str(small)) == loaded.checksum  # appends skip it
    _, limited = parse_files([str(small)], str(tmp_path), "Europe/Zurich", max_bytes=len(EXAMPLE) - 1)
    assert limited[0].reason == "too_large"


@pytest.mark.unit
def test_a_sensor_key_too_long_for_the_index_is_skipped_and_counted_and_the_rest_loads():
    payload = orjson.loads(EXAMPLE)
    payload["plugs"][LONG_KEY] = {"power": 1.0, "total": 2.0}
    payload["doorsWindows"]["Pantry"] = [{"type": LONG_KEY, "switch": "on", "battery": 90}]
    readings, skipped = flatten_payload(payload)
    assert len(readings) == 50  # the example's own readings, nothing of the long keys
    assert max(len(r.sensor_id) for r in readings) < MAX_KEY_CHARS
    assert skipped == {"key_too_long": 2}


@pytest.mark.unit
def test_a_forecast_site_too_long_for_the_index_is_dropped_and_counted():
    content = ("Time,Value,Prediction,Site,Measurement,Unit\n"
               "2023-10-03 01:00:00+00:00,10.5,01,Sion,PRED_T_2M_ctrl,°C\n"
               f"2023-10-03 01:00:00+00:00,11.5,01,{'S' * 3000},PRED_T_2M_ctrl,°C\n").encode()
    frame, dropped, _ = clean_forecast(content, date(2023, 10, 3), 2023, "Pred_2023-10-03.csv")
    assert frame["site"].to_list() == ["Sion"] and dropped == {"site_too_long": 1}


class CountedName(str):
    """A file name that counts the comparisons made with it: a list checked with `in` compares every entry."""

    comparisons = 0

    def __eq__(self, other):
        CountedName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@dataclass(frozen=True)
class ListedFile:
    name: str
    size: int = 100
    mtime: float = 0.0


class ListedShare:
    def __init__(self, names: list[str]):
        self.files = [ListedFile(CountedName(name)) for name in names]

    def ensure_reachable(self) -> None:
        pass

    def list_files(self, prefix: str = "") -> list[ListedFile]:
        return self.files

    def stat(self, name: str) -> ListedFile | None:
        return None


@pytest.mark.unit
def test_discovery_with_many_badly_named_files_stays_linear():
    names = [f"notes {index}.txt" for index in range(3000)]
    first = discover(ListedShare(names), Cursor(), now=1e9, full_scan_interval=0, future_minutes=0)
    assert len(first.rejected) == len(names)  # reported once
    CountedName.comparisons = 0
    again = discover(ListedShare(names), first.cursor, now=1e9 + 60, full_scan_interval=0, future_minutes=0)
    assert again.rejected == []
    assert CountedName.comparisons <= 2 * len(names)  # a list checked with `in`: ~4.5 million


class ListedSFTP:
    """An sFTP server's listing, without a server."""

    path = "/Meteo2"

    def __init__(self, names: list[str]):
        self.files = [RemoteFile(CountedName(name), 100, 0) for name in names]

    @contextmanager
    def session(self):
        yield None

    def list_files(self, _session) -> list[RemoteFile]:
        return self.files


@pytest.mark.component
def test_the_weather_sensor_with_many_badly_named_files_stays_linear():
    sftp = ListedSFTP([f"notes {index}.txt" for index in range(3000)])

    def tick(cursor):
        return sftp_weather_files_sensor(dg.build_sensor_context(cursor=cursor, instance=dg.DagsterInstance.ephemeral(),
                                                                 resources={"sftp": sftp}))

    first = tick(None)
    CountedName.comparisons = 0
    assert tick(first.cursor).run_requests == []
    assert CountedName.comparisons <= 2 * len(sftp.files)  # a list checked with `in`: ~4.5 million


# --- silver against PostgreSQL -----------------------------------------------------------------------------

DAY = "2023-10-29"


@pytest.fixture(scope="module")
def database(fresh_database) -> str:
    return fresh_database("limits")


@pytest.fixture
def bronze(bronze_of, tmp_path) -> Path:
    return bronze_of(tmp_path / "bronze", [DAY])


def query(database: str, text: str, params=()) -> list[tuple]:
    with PostgresResource(db_url=database).connect() as connection, connection.cursor() as cursor:
        cursor.execute(text, params)
        return cursor.fetchall()


@pytest.mark.integration
def test_a_day_with_an_oversized_file_and_a_key_too_long_loads_with_both_reported(database, bronze):
    """A valid JSON file just over the limit (padding) is quarantined, not loaded; a 3 KB room key used to fail
    the whole day on the reading key's index."""
    oversized, keyed = sorted(path for path in bronze.rglob("*.json") if "/jimmy/" in str(path))[:2]
    payload = orjson.loads(keyed.read_bytes())
    payload["plugs"][LONG_KEY] = {"power": 5.0}
    keyed.write_bytes(orjson.dumps(payload))
    oversized.write_bytes(oversized.read_bytes() + b" " * SENSOR_LIMIT)
    resources = {"warehouse": PostgresResource(db_url=database), "bronze": BronzeResource(root=str(bronze)),
                 "rules": CleaningRulesResource()}
    result = dg.materialize([silver_sensor_events], resources=resources, partition_key=DAY)
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["readings_skipped"].value.get("key_too_long") == 1
    assert metadata["quarantine_reasons"].value.get("too_large") == 1
    rejected = query(database, "SELECT reason, detail, coalesce(checksum, '') FROM silver.rejected_files "
                     "WHERE file = %s", (oversized.name,))
    assert rejected == [("too_large", f"{oversized.stat().st_size} bytes, over SENSOR_FILE_MAX_BYTES "
                                      f"({SENSOR_LIMIT})", "")]
    assert query(database, "SELECT count(*) FROM silver.sensor_events WHERE source_file = %s", (keyed.name,))[0][0] > 0
    assert query(database, "SELECT count(*) FROM silver.sensor_events WHERE length(room) > 100") == [(0,)]
    again = dg.materialize([silver_sensor_events], resources=resources, partition_key=DAY)  # the live append
    assert again.success and query(database, "SELECT count(*) FROM silver.rejected_files WHERE file = %s",
                                   (oversized.name,)) == [(1,)]


@pytest.mark.integration
def test_a_forecast_over_its_limit_is_quarantined_unread(settings, generated, database, tmp_path):
    day = date(2023, 10, 29)
    bronze = tmp_path / "bronze"
    path = weather_bronze_path(bronze, day, weather_filename(day))
    path.parent.mkdir(parents=True)
    with open(path, "wb") as file:
        file.truncate(4096)
    resources = {"warehouse": PostgresResource(db_url=database), "bronze": BronzeResource(root=str(bronze)),
                 "rules": CleaningRulesResource(weather_file_max_bytes=1024)}
    result = dg.materialize([silver_weather_forecasts], resources=resources, partition_key=day.isoformat())
    assert result.success
    assert query(database, "SELECT reason, detail FROM silver.rejected_files WHERE file = %s", (path.name,)) == [
        ("too_large", "4096 bytes, over WEATHER_FILE_MAX_BYTES (1024)")]

