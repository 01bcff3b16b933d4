"""Benchmark of silver → gold (dbt) at the reference's scale; prints figures, asserts nothing.

    .venv/bin/python scripts/bench_gold.py [--days 85] [--apartments 2] [--start 2023-08-01] [--seed 1]
        [--workdir /tmp/domotic-bench] [--silver-loaded] [--runner in-process|cli]

Generates ~245,000 sensor files and the forecasts with the project's generator (reused when present), loads
them through bronze into silver in a private PostgreSQL (reference tables from a private MariaDB), then
measures the gold build through Dagster (`--silver-loaded`: the workdir's warehouse already holds that silver): the
dbt parse a first gold run makes for a database (printed apart: once per database and project version), the
unpartitioned models (seeds, staging, dimensions), the whole history as one run (a backfill), and one day: twice
in the process that ran the backfill, and once as the first gold run of a new process, with the dbt runner of
DBT_RUNNER or `--runner`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from demo.generator.apartments import apartments
from demo.generator.generate import GenerationRequest, generate
from demo.generator.reference import reference_tables
from demo.mariadb import EmbeddedMariaDB
from demo.settings import load_demo_settings
from domotic_assets.gold.assets import gold_daily_models, gold_models
from domotic_assets.gold.project import gold_dbt, parse_for_connection
from domotic_assets.silver.reference import silver_reference_tables
from domotic_assets.silver.sensor_events import silver_sensor_events
from domotic_assets.silver.weather import silver_weather_forecasts
from domotic_config.variables import value
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

FACTS = ("fact_energy_minute", "fact_environment_minute", "fact_presence_minute", "fact_device_health_day",
         "fact_weather_hour")


class DbtMemory(threading.Thread):
    """Samples the resident memory of dbt: this process, where gold runs dbt (`dbt_runner.py`), and the `dbt
    parse` a first gold run starts for a database; `peak_mib` is the highest seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_mib, self.running = 0.0, True

    def run(self):
        while self.running:
            for status in [Path("/proc/self/status"), *Path("/proc").glob("[0-9]*/status")]:
                try:
                    if status.parent.name != "self" and "bin/dbt" not in (status.parent / "cmdline").read_text():
                        continue
                    rss = next(line for line in status.read_text().splitlines() if line.startswith("VmRSS"))
                    self.peak_mib = max(self.peak_mib, int(rss.split()[1]) / 1024)
                except (OSError, StopIteration):
                    continue
            time.sleep(0.2)


def workdir_settings(workdir: Path):
    """The settings of the private servers of a benchmark's work folder (free ports)."""
    return load_demo_settings(runtime=workdir / "gold-runtime", read_environment=False,
                              overrides={"DOMOTIC_PG_PORT": str(free_port()), "DEMO_MYSQL_PORT": str(free_port())})


@contextmanager
def gold_warehouse(workdir: Path) -> Iterator[PostgresResource]:
    """The warehouse this benchmark left in `workdir`, its PostgreSQL running for the block."""
    postgres = EmbeddedPostgres(workdir_settings(workdir))
    postgres.start()
    try:
        yield PostgresResource(db_url=postgres.settings["DB_URL"])
    finally:
        postgres.stop()


def timed(assets, resources: dict, **kwargs) -> float:
    started = time.perf_counter()
    result = dg.materialize(assets, resources=resources, raise_on_error=False, **kwargs)
    seconds = time.perf_counter() - started
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    print(f"    ({len(result.get_asset_check_evaluations())} checks, failed: {failed or 'none'})")
    return seconds


def rows(warehouse: PostgresResource) -> dict[str, int]:
    with warehouse.connect() as connection, connection.cursor() as cursor:
        counts = {}
        for table in FACTS:
            cursor.execute(f"SELECT count(*) FROM gold.{table}")  # names are the constants above
            counts[table] = cursor.fetchone()[0]
        return counts


def load_silver(args, warehouse: PostgresResource, reference_url: str, bronze: Path, keys: list[str]) -> None:
    share = args.workdir / f"share-{args.days}d"
    request = GenerationRequest(start=date.fromisoformat(keys[0]), days=args.days, apartments=args.apartments,
                                seed=args.seed)
    generate(request, share, args.workdir / "sftp", args.workdir / f"manifest-{args.days}d.json")
    for key in keys:
        copy_day(SMBShareResource(path=str(share)), bronze, DEFAULT_APARTMENTS, key, time.time())
    for csv in (args.workdir / "sftp").rglob("Pred_*.csv"):
        try:
            day = parse_weather_filename(csv.name)
        except FilenameError:
            continue
        target = weather_bronze_path(bronze, day, csv.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(csv, target)
    resources = {"warehouse": warehouse, "bronze": BronzeResource(root=str(bronze)), "rules": CleaningRulesResource(),
                 "reference_db": ReferenceDatabaseResource(url=reference_url)}
    dg.materialize([silver_reference_tables], resources=resources)
    window = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
    started = time.perf_counter()
    dg.materialize([silver_sensor_events, silver_weather_forecasts], resources=resources, tags=window)
    print(f"silver loaded in {time.perf_counter() - started:.1f} s")


def first_day_of_a_process(key: str, db_url: str) -> float:
    """One gold day as the first gold run of a new process (as a run launched from the UI or a sensor: dbt's
    modules not loaded yet); seconds of the run, from the new process."""
    code = ("import sys, time; import dagster as dg; "
            "from scripts.bench_gold import one_day; print(one_day(sys.argv[1]))")
    done = subprocess.run([sys.executable, "-c", code, key], check=True,
                          capture_output=True, text=True, env={**os.environ, "BENCH_DB_URL": db_url})
    return float(done.stdout.splitlines()[-1])


def one_day(key: str) -> float:
    """Seconds of one gold day's run; the Dagster instance exists before (as a run worker's does)."""
    resources = {"warehouse": PostgresResource(db_url=os.environ["BENCH_DB_URL"]), "dbt": gold_dbt()}
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        dg.materialize([gold_daily_models], resources=resources, partition_key=key, instance=instance)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=85)
    parser.add_argument("--apartments", type=int, default=2)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 8, 1), help="the first generated day")
    parser.add_argument("--seed", type=int, default=1, help="the generator's seed")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/domotic-bench"))
    parser.add_argument("--silver-loaded", action="store_true", help="measure gold on the silver of an earlier run")
    parser.add_argument("--runner", choices=["in-process", "cli"], default=value("DBT_RUNNER"),
                        help="how gold runs dbt (DBT_RUNNER; the new process below inherits it)")
    args = parser.parse_args()
    os.environ["DBT_RUNNER"] = args.runner
    print(f"dbt runner: {args.runner}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.workdir.chmod(0o755)
    start = args.start
    keys = [(start + timedelta(days=d)).isoformat() for d in range(args.days)]
    settings = workdir_settings(args.workdir)
    postgres, mariadb = EmbeddedPostgres(settings), EmbeddedMariaDB(settings)
    postgres.start()
    mariadb.start()
    try:
        mariadb.load_reference(reference_tables(apartments(args.apartments), start, args.seed))
        warehouse = PostgresResource(db_url=settings["DB_URL"])
        if not args.silver_loaded:
            load_silver(args, warehouse, settings["MYSQL_URL"], args.workdir / f"bronze-{args.days}d", keys)
        resources = {"warehouse": warehouse, "dbt": gold_dbt()}
        with warehouse.connect() as connection, connection.cursor() as cursor:  # a workdir may hold an old gold
            cursor.execute("DROP SCHEMA IF EXISTS gold CASCADE; DROP SCHEMA IF EXISTS gold_staging CASCADE")
        memory = DbtMemory()
        memory.start()
        started = time.perf_counter()
        parse_for_connection(warehouse.dbt_environment())  # what the first gold run would do
        print(f"dbt parse for this database (once per database and project version): "
              f"{time.perf_counter() - started:.1f} s")
        dimensions = timed([gold_models], resources)
        print(f"gold_models (seeds, staging, dimensions): {dimensions:.1f} s")
        window = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
        full = timed([gold_daily_models], resources, tags=window)
        counts = rows(warehouse)
        print(f"gold facts, all {args.days} days in one run: {full:.1f} s, {sum(counts.values()):,} rows "
              f"({sum(counts.values()) / full:,.0f} rows/s)")
        print(f"full gold build (dimensions + facts): {dimensions + full:.1f} s")
        for table, count in counts.items():
            print(f"    {table:26} {count:>12,}")
        for key in keys[len(keys) // 2:len(keys) // 2 + 2]:
            day = timed([gold_daily_models], resources, partition_key=key)
            print(f"gold facts, one day ({key}): {day:.1f} s")
        key = keys[len(keys) // 2 + 2]
        print(f"gold facts, one day ({key}) as the first gold run of a new process: "
              f"{first_day_of_a_process(key, settings['DB_URL']):.1f} s")
        memory.running = False
        print(f"peak memory of the process running dbt (with Dagster's run): {memory.peak_mib:.0f} MiB")
    finally:
        postgres.stop()
        mariadb.stop()


if __name__ == "__main__":
    main()
