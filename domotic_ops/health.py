"""`python -m domotic_ops health`: is the platform fresh and well? Row counts per layer, freshness per source
(ok / warn / FAIL by age), the quarantine, bronze on disk, the last runs and the last alerts.

Ages are measured from the newest data to now; `--now` measures them from another instant (a demo of
historical data). The exit status is 1 when a source has FAILed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from domotic_config.settings import Settings
from domotic_ops import procs
from domotic_ops.superset import superset_service
from resources.postgres import PostgresResource

HOUR = timedelta(hours=1)
# (what, SQL of its newest instant, ok below, warn below)
WEEK = 7 * 24 * HOUR
SOURCES = (
    ("sensor readings", "SELECT max(\"timestamp\") FROM silver.sensor_events WHERE partition_date = "
                        "(SELECT max(partition_date) FROM silver.file_ledger WHERE source = 'sensor')", HOUR, 26 * HOUR),
    ("weather forecasts", "SELECT max(prediction_date)::timestamptz FROM silver.weather_forecasts", 26 * HOUR, WEEK),
    ("gold energy facts", "SELECT to_timestamp(max(datetime_key)::text, 'YYYYMMDDHH24MI')::timestamp AT TIME ZONE 'UTC' "
                          "FROM gold.fact_energy_minute WHERE date_key = (SELECT max(date_key) FROM gold.fact_energy_minute)",
     3 * HOUR, 26 * HOUR),
    ("forecasts issued", "SELECT max(issue_time) FROM gold.fact_prediction WHERE kind = 'forecast'", 26 * HOUR, WEEK),
)
COUNTS = ("silver.sensor_events", "silver.weather_forecasts", "silver.file_ledger", "silver.rejected_files",
          "gold.fact_energy_minute", "gold.fact_environment_minute", "gold.fact_presence_minute",
          "gold.fact_weather_hour", "gold.fact_prediction")
BRONZE_FILE_CAP = 500_000


@dataclass(frozen=True)
class Freshness:
    source: str
    newest: datetime | None
    verdict: str


def verdict(newest: datetime | None, now: datetime, ok: timedelta, warn: timedelta) -> str:
    if newest is None:
        return "FAIL"
    age = now - newest
    return "ok" if age < ok else "warn" if age < warn else "FAIL"


def freshness(cursor, now: datetime) -> list[Freshness]:
    found = []
    for source, query, ok, warn in SOURCES:
        newest = _scalar(cursor, query)
        found.append(Freshness(source, newest, verdict(newest, now, ok, warn)))
    return found


def _scalar(cursor, query: str):
    """The query's value, or None when its table does not exist yet."""
    cursor.execute("SAVEPOINT probe")
    try:
        cursor.execute(query)
        return cursor.fetchone()[0]
    except Exception:  # an undefined table: the layer has not been built
        cursor.execute("ROLLBACK TO SAVEPOINT probe")
        return None


def bronze_summary(root: Path) -> list[tuple[str, int, int]]:
    """(top folder, files, bytes) of bronze, counting at most BRONZE_FILE_CAP files."""
    rows, seen = [], 0
    for top in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        files = size = 0
        for folder, _, names in os.walk(top):
            for name in names:
                if seen >= BRONZE_FILE_CAP:
                    break
                files, seen = files + 1, seen + 1
                size += os.stat(os.path.join(folder, name)).st_size
        rows.append((top.name, files, size))
    return rows


def last_runs(limit: int = 10) -> list[str]:
    """The newest runs of the Dagster instance (DAGSTER_HOME), or why they cannot be read."""
    import dagster as dg  # only when asked: importing Dagster takes seconds

    try:
        with dg.DagsterInstance.get() as instance:
            return [f"{r.dagster_run.status.value:10} {r.dagster_run.job_name:30} "
                    f"{r.dagster_run.tags.get('dagster/partition', ''):12} {r.create_timestamp:%Y-%m-%d %H:%M}"
                    for r in instance.get_run_records(limit=limit)]
    except Exception as error:
        return [f"(Dagster's runs cannot be read: {type(error).__name__}: {str(error)[:200]})"]


def report(settings: Settings, out: Callable[[str], None] = print, now: datetime | None = None,
           runs: bool = True) -> bool:
    """Print the health report; False when a source FAILed."""
    now = now or datetime.now(timezone.utc)
    warehouse = PostgresResource(db_url=settings["DB_URL"])
    with warehouse.connect() as connection, connection.cursor() as cursor:
        out(f"freshness (newest data, measured at {now:%Y-%m-%d %H:%M %Z}):")
        fresh = freshness(cursor, now)
        for item in fresh:
            newest = f"{item.newest:%Y-%m-%d %H:%M %Z}" if item.newest else "none"
            out(f"  {item.verdict:4} {item.source:20} {newest}")
        out("rows:")
        for table in COUNTS:
            count = _scalar(cursor, f"SELECT count(*) FROM {table}")
            out(f"  {table:32} {count if count is not None else 'not built'}")
        out("quarantine (silver.rejected_files by reason):")
        cursor.execute("SAVEPOINT probe")
        try:
            cursor.execute("SELECT reason, count(*) FROM silver.rejected_files GROUP BY 1 ORDER BY 2 DESC")
            for reason, count in cursor.fetchall():
                out(f"  {reason:32} {count}")
        except Exception:
            cursor.execute("ROLLBACK TO SAVEPOINT probe")
        out("last alerts:")
        cursor.execute("SELECT raised_at, coalesce(job_name, kind), left(message, 100) FROM governance.alerts "
                       "ORDER BY raised_at DESC LIMIT 5")
        for raised_at, job, message in cursor.fetchall() or [("", "none", "")]:
            out(f"  {raised_at:%Y-%m-%d %H:%M} {job} {message}" if raised_at else "  none")
    out(f"bronze ({settings['BRONZE_ROOT']}):")
    for top, files, size in bronze_summary(Path(settings["BRONZE_ROOT"])):
        out(f"  {top:20} {files:9} files {size / 1e6:10.1f} MB")
    if settings["SUPERSET_ENABLED"] == "yes":
        try:
            out(f"dashboards: {superset_service(settings).report()}")
        except procs.ServiceError as error:
            out(f"dashboards: FAIL {error}")
    if runs:
        out("last runs:")
        for line in last_runs():
            out(f"  {line}")
    return all(item.verdict != "FAIL" for item in fresh)
