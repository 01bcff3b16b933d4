"""Benchmark of bronze → silver at the reference's scale; prints figures, asserts nothing.

    .venv/bin/python scripts/bench_silver.py [--days 85] [--apartments 2] [--workdir /tmp/domotic-bench]

Generates ~245,000 sensor files with the project's generator (reused when present), copies them into
bronze, starts a private PostgreSQL, then measures `silver_sensor_events` over the whole range (one run,
as a backfill does), three live ticks (10 new files each into a day that already holds ~2,880: the one-day run
appends them) and the same day reloaded whole.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg

from demo.generator.generate import GenerationRequest, generate
from domotic_assets.silver.sensor_events import silver_sensor_events
from domotic_config.settings import load_settings
from domotic_ops.postgres import EmbeddedPostgres
from domotic_ops.procs import free_port
from resources.bronze import (
    DEFAULT_APARTMENTS,
    BronzeResource,
)
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from resources.smb import SMBShareResource
from sensors_io.filenames import sensor_filename
from sensors_io.sensor_copy import copy_day


def peak_memory_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child (MiB)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


@contextmanager
def empty_warehouse(runtime: Path, bronze: Path) -> Iterator[dict]:
    """The resources of `silver_sensor_events` on a private PostgreSQL started from nothing (silver loads from
    an empty warehouse, as the reference's loader starts), stopped afterwards."""
    shutil.rmtree(runtime, ignore_errors=True)
    settings = load_settings(runtime=runtime, read_environment=False, overrides={"DOMOTIC_PG_PORT": str(free_port())})
    postgres = EmbeddedPostgres(settings)
    postgres.start()
    try:
        yield {"warehouse": PostgresResource(db_url=settings["DB_URL"]), "bronze": BronzeResource(root=str(bronze)),
               "rules": CleaningRulesResource()}
    finally:
        postgres.stop()


def cpu_seconds() -> float:
    """User and system CPU time of this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def materialise(resources: dict, start: str, end: str, full_reload: bool = False) -> tuple[float, dict]:
    started = time.perf_counter()
    result = dg.materialize([silver_sensor_events], resources=resources, tags={
        "dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        run_config={"ops": {"silver_sensor_events": {"config": {"full_reload": full_reload}}}})
    seconds = time.perf_counter() - started
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    return seconds, {k: v.value for k, v in metadata.items() if k != "preview"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=85)
    parser.add_argument("--apartments", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/domotic-bench"))
    args = parser.parse_args()
    share, bronze = args.workdir / f"share-{args.days}d", args.workdir / f"bronze-{args.days}d"
    request = GenerationRequest(start=date(2023, 8, 1), days=args.days, apartments=args.apartments, seed=1)
    manifest = generate(request, share, args.workdir / "sftp", args.workdir / f"manifest-{args.days}d.json")
    keys = [(request.start + timedelta(days=d)).isoformat() for d in range(args.days)]
    started = time.perf_counter()
    share_resource = SMBShareResource(path=str(share))
    copied = sum(copy_day(share_resource, bronze, DEFAULT_APARTMENTS, key, time.time()).copied for key in keys)
    print(f"bronze: {sum(a['files'] for a in manifest['apartments'])} files in the share, {copied} newly copied "
          f"in {time.perf_counter() - started:.1f} s")

    with empty_warehouse(args.workdir / "runtime", bronze) as resources:
        seconds, facts = materialise(resources, keys[0], keys[-1])
        self_mib, child_mib = peak_memory_mib()
        print(f"\nfull range, {len(keys)} partitions in one run")
        print(f"  wall time            {seconds:8.1f} s  (asset body {facts['seconds']} s)")
        print(f"  files                {facts['files_read']:8d}  ({facts['files_read'] / seconds:,.0f} files/s)")
        print(f"  rows                 {facts['dagster/row_count']:8d}  ({facts['dagster/row_count'] / seconds:,.0f} rows/s)")
        print(f"  quarantined          {facts['files_quarantined']:8d}")
        print(f"  peak memory          {self_mib:8.0f} MiB main process, {child_mib:.0f} MiB largest parse worker")

        day = date.fromisoformat(keys[-1])
        existing = {p.name for p in share.iterdir() if p.name.startswith(f"{day:%d.%m.%Y} ")}
        template = json.loads(next(share.glob(f"{day:%d.%m.%Y} *_JimmyLoup_received.json")).read_bytes())
        free_minutes = (datetime.combine(day, datetime.min.time()) + timedelta(minutes=m) for m in range(1440))
        free_minutes = (m for m in free_minutes if sensor_filename(m, "BenchAnna") not in existing)
        print(f"\nlive ticks into {keys[-1]} (a day of {facts['files_read'] // len(keys)} files): "
              "10 new files each, copied to bronze, then the one-day run (appends the new files)")
        for _tick in range(3):
            for moment in [next(free_minutes) for _ in range(10)]:
                payload = {**template, "user": "BenchAnna", "datetime": moment.strftime("%d.%m.%Y %H:%M")}
                path = share / sensor_filename(moment, "BenchAnna")
                path.write_text(json.dumps(payload))
                os.utime(path, (time.time() - 60, time.time() - 60))
            started = time.perf_counter()
            report = copy_day(share_resource, bronze, DEFAULT_APARTMENTS, keys[-1], time.time())
            bronze_seconds = time.perf_counter() - started
            cpu = cpu_seconds()
            seconds, facts = materialise(resources, keys[-1], keys[-1])
            cpu = cpu_seconds() - cpu
            print(f"  tick: bronze copy {bronze_seconds:5.2f} s ({report.copied} copied), silver {seconds:5.2f} s "
                  f"(asset body {facts['seconds']} s, {facts['files_read']} files read, appended "
                  f"{facts['days_appended']} day, {cpu / max(facts['files_read'], 1):.3f} CPU-s per new file "
                  "in the run process)")
        seconds, facts = materialise(resources, keys[-1], keys[-1], full_reload=True)
        print(f"  the same day reloaded whole: {seconds:5.2f} s (asset body {facts['seconds']} s, "
              f"{facts['files_read']} files read)")
        for path in share.glob("*_BenchAnna_received.json"):
            path.unlink()
        shutil.rmtree(bronze / "benchanna", ignore_errors=True)


if __name__ == "__main__":
    main()
