"""Benchmark of live silver ticks at several building sizes; prints figures, asserts nothing.

    .venv/bin/python scripts/bench_live.py [--apartments 2 20 100] [--new-minutes 10] [--hours 24 ...]
        [--workdir /tmp/domotic-live]

For each size (and each `--hours`): one generated day up to that local hour (every apartment, one file per
minute) is copied into bronze without its last `--new-minutes` minutes and loaded into silver (a private
PostgreSQL), and the share sensor's discovery lists the share once (its first tick); then those minutes arrive
on the share, and the tick that brings them is timed: the sensor's discovery (predictive probing, as every
tick after the first), a bronze copy given the names it found, and the one-day run of `silver_sensor_events`
that appends them. Prints the tick's wall time (discovery + bronze copy + silver run), the CPU-seconds per new
file of the run process, the marginal CPU of a new file between two sizes (flat when a tick costs what its new
files cost, apart from the run's fixed cost), the cost ratio between the largest and the smallest building,
and the process's peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench_silver import cpu_seconds, empty_warehouse, materialise

from demo.generator.generate import GenerationRequest, generate
from domotic_config.variables import TIMEZONE
from resources.bronze import DEFAULT_APARTMENTS
from resources.smb import SMBShareResource
from sensors_io.discovery import Cursor, discover
from sensors_io.filenames import parse_sensor_filename
from sensors_io.sensor_copy import copy_day

DAY = date(2023, 8, 1)
DAY_SECONDS = 86400  # the full listing's interval: once, on the first tick


def load_day(resources: dict) -> tuple[float, dict]:
    return materialise(resources, DAY.isoformat(), DAY.isoformat())


def tick_at(apartments: int, new_minutes: int, hours: int, workdir: Path) -> dict:
    """Load a day up to `hours` without its last minutes, then time the tick that brings them."""
    folder = workdir / f"{apartments}-apartments-{hours}h"
    share, held_back, bronze = folder / "share", folder / "held-back", folder / "bronze"
    request = GenerationRequest(start=DAY, days=1, apartments=apartments, seed=1, hours=hours)
    generate(request, share, folder / "sftp", folder / "manifest.json")
    folder.chmod(0o755)  # PostgreSQL's account enters it (its data folder is below)
    held_back.mkdir(exist_ok=True)
    for path in list(share.glob("*.json")) + list(held_back.glob("*.json")):
        minute = parse_sensor_filename(path.name).local_minute
        late = minute.hour * 60 + minute.minute >= hours * 60 - new_minutes
        path.rename((held_back if late else share) / path.name)
    shutil.rmtree(bronze, ignore_errors=True)
    share_resource = SMBShareResource(path=str(share))
    copy_day(share_resource, bronze, DEFAULT_APARTMENTS, DAY.isoformat(), time.time())
    for hour_folder in bronze.glob(f"*/{DAY:%Y/%m/%d}/*"):  # as if each hour had arrived in its hour, not now
        finished = datetime.combine(DAY, dt_time(int(hour_folder.name), 59)).timestamp()
        os.utime(hour_folder, (finished, finished))
    cut = datetime.combine(DAY, dt_time(0), ZoneInfo(TIMEZONE)) + timedelta(minutes=hours * 60)
    started = time.perf_counter()
    first = discover(share_resource, Cursor(), (cut - timedelta(minutes=new_minutes)).timestamp(), DAY_SECONDS,
                     zone=TIMEZONE)  # the sensor's first tick: a full listing
    listing_seconds = time.perf_counter() - started
    with empty_warehouse(folder / "runtime", bronze) as resources:
        first_seconds, loaded = load_day(resources)
        arrived = 0
        for path in held_back.glob("*.json"):
            path.rename(share / path.name)  # (their mtimes: the minute each was written)
            arrived += 1
        started = time.perf_counter()
        found = discover(share_resource, first.cursor, cut.timestamp() + 30, DAY_SECONDS, zone=TIMEZONE)
        discovery_seconds = time.perf_counter() - started
        started = time.perf_counter()
        copied = copy_day(share_resource, bronze, DEFAULT_APARTMENTS, DAY.isoformat(), time.time() + 60,
                          names=found.names[DAY.isoformat()]).copied
        bronze_seconds = time.perf_counter() - started
        cpu = cpu_seconds()
        silver_seconds, tick = load_day(resources)
        cpu = cpu_seconds() - cpu
    return {"apartments": apartments, "hours": hours, "day_files": loaded["files_read"],
            "day_rows": loaded["dagster/row_count"], "day_load_s": first_seconds, "listing_s": listing_seconds,
            "arrived": arrived, "discovered": found.new_files, "probes": found.probes, "discovery_s": discovery_seconds,
            "new_files": tick["files_read"], "copied": copied,
            "bronze_s": bronze_seconds, "silver_s": silver_seconds,
            "tick_s": discovery_seconds + bronze_seconds + silver_seconds, "body_s": tick["seconds"],
            "appended": tick["days_appended"], "listed": tick["bronze_files_listed"],
            "cpu_per_file": cpu / max(tick["files_read"], 1), "cpu_s": cpu,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apartments", type=int, nargs="+", default=[2, 20, 100])
    parser.add_argument("--new-minutes", type=int, default=10)
    parser.add_argument("--hours", type=int, nargs="+", default=[24], help="the day arrived up to these local hours")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/domotic-live"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.workdir.chmod(0o755)
    figures = []
    sizes = [(apartments, hours) for apartments in args.apartments for hours in args.hours]
    for apartments, hours in sizes:
        f = tick_at(apartments, args.new_minutes, hours, args.workdir)
        figures.append(f)
        print(f"{apartments:4d} apartments, {hours:2d} h: day of {f['day_files']:,} files / {f['day_rows']:,} rows "
              f"loaded in {f['day_load_s']:.1f} s (full listing {f['listing_s']:.2f} s); tick of "
              f"{f['new_files']:,} new files {f['tick_s']:.2f} s: discovery {f['discovery_s']:.2f} s "
              f"({f['discovered']:,} of {f['arrived']:,} found, {f['probes']:,} names probed), "
              f"bronze copy {f['bronze_s']:.2f} s ({f['copied']} copied), silver {f['silver_s']:.2f} s wall (asset "
              f"body {f['body_s']} s, appended {f['appended']} day, {f['listed']:,} bronze files listed), "
              f"{f['cpu_per_file'] * 1000:.1f} CPU-ms per new file; peak memory {f['peak_mib']:.0f} MiB", flush=True)
    for hours in args.hours:  # what one more new file costs, the run's fixed cost aside, between sizes
        sized = [f for f in figures if f["hours"] == hours]
        for before, after in zip(sized, sized[1:]):
            marginal = (after["cpu_s"] - before["cpu_s"]) / max(after["new_files"] - before["new_files"], 1)
            print(f"marginal CPU per new file from {before['apartments']} to {after['apartments']} apartments "
                  f"({hours} h): {marginal * 1000:.2f} ms")
    smallest, largest = figures[0], figures[-1]
    print(f"tick cost ratio {largest['apartments']} : {smallest['apartments']} apartments: wall "
          f"{largest['tick_s'] / smallest['tick_s']:.1f} (silver {largest['silver_s'] / smallest['silver_s']:.1f}), "
          f"asset body {largest['body_s'] / smallest['body_s']:.1f}, "
          f"CPU {largest['cpu_s'] / smallest['cpu_s']:.1f} (new files {largest['new_files'] / smallest['new_files']:.0f})")


if __name__ == "__main__":
    main()
