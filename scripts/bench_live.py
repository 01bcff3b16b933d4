"""Benchmark of live silver ticks at several building sizes; prints figures, asserts nothing.

    .venv/bin/python scripts/bench_live.py [--apartments 2 20 100] [--new-minutes 10] [--workdir /tmp/domotic-live]

For each size: one generated day (every apartment, one file per minute) is copied into bronze without its
last `--new-minutes` minutes and loaded into silver (a private PostgreSQL); then those minutes arrive on the
share, a bronze copy given their names (as the sensor's probing gives them to its run) brings them in and the
one-day run of `silver_sensor_events` appends them. Prints the tick's wall time (bronze copy + silver run), the
CPU-seconds per new file of the run process, the marginal CPU of a new file between two sizes (flat when a tick
costs what its new files cost, apart from the run's fixed cost), and the cost ratio between the largest and the
smallest building.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path

from bench_silver import cpu_seconds, empty_warehouse, materialise

from demo.generator.generate import GenerationRequest, generate
from resources.bronze import DEFAULT_APARTMENTS
from resources.smb import SMBShareResource
from sensors_io.filenames import parse_sensor_filename
from sensors_io.sensor_copy import copy_day

DAY = date(2023, 8, 1)


def load_day(resources: dict) -> tuple[float, dict]:
    return materialise(resources, DAY.isoformat(), DAY.isoformat())


def tick_at(apartments: int, new_minutes: int, workdir: Path) -> dict:
    """Load a day without its last minutes, then time the tick that brings them."""
    folder = workdir / f"{apartments}-apartments"
    share, held_back, bronze = folder / "share", folder / "held-back", folder / "bronze"
    request = GenerationRequest(start=DAY, days=1, apartments=apartments, seed=1)
    generate(request, share, folder / "sftp", folder / "manifest.json")
    held_back.mkdir(exist_ok=True)
    for path in list(share.glob("*.json")) + list(held_back.glob("*.json")):
        minute = parse_sensor_filename(path.name).local_minute
        late = minute.hour * 60 + minute.minute >= 24 * 60 - new_minutes
        path.rename((held_back if late else share) / path.name)
    shutil.rmtree(bronze, ignore_errors=True)
    share_resource = SMBShareResource(path=str(share))
    copy_day(share_resource, bronze, DEFAULT_APARTMENTS, DAY.isoformat(), time.time())
    for folder in bronze.glob(f"*/{DAY:%Y/%m/%d}/*"):  # as if each hour had arrived in its hour, not just now
        finished = datetime.combine(DAY, dt_time(int(folder.name), 59)).timestamp()
        os.utime(folder, (finished, finished))
    with empty_warehouse(folder / "runtime", bronze) as resources:
        first_seconds, first = load_day(resources)
        arrived = []
        for path in held_back.glob("*.json"):
            path.rename(share / path.name)
            arrived.append(path.name)
        started = time.perf_counter()
        copied = copy_day(share_resource, bronze, DEFAULT_APARTMENTS, DAY.isoformat(), time.time() + 60,
                          names=arrived).copied  # the names the sensor's probing found
        bronze_seconds = time.perf_counter() - started
        cpu = cpu_seconds()
        silver_seconds, tick = load_day(resources)
        cpu = cpu_seconds() - cpu
    return {"apartments": apartments, "day_files": first["files_read"], "day_rows": first["dagster/row_count"],
            "day_load_s": first_seconds, "new_files": tick["files_read"], "copied": copied,
            "bronze_s": bronze_seconds, "silver_s": silver_seconds, "tick_s": bronze_seconds + silver_seconds,
            "body_s": tick["seconds"],
            "appended": tick["days_appended"], "listed": tick["bronze_files_listed"],
            "cpu_per_file": cpu / max(tick["files_read"], 1), "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apartments", type=int, nargs="+", default=[2, 20, 100])
    parser.add_argument("--new-minutes", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/domotic-live"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.workdir.chmod(0o755)
    figures = []
    for apartments in args.apartments:
        f = tick_at(apartments, args.new_minutes, args.workdir)
        figures.append(f)
        print(f"{apartments:4d} apartments: day of {f['day_files']:,} files / {f['day_rows']:,} rows loaded in "
              f"{f['day_load_s']:.1f} s; tick of {f['new_files']:,} new files {f['tick_s']:.2f} s: "
              f"bronze copy {f['bronze_s']:.2f} s ({f['copied']} copied), silver {f['silver_s']:.2f} s wall (asset "
              f"body {f['body_s']} s, appended {f['appended']} day, {f['listed']:,} bronze files listed), "
              f"{f['cpu_per_file'] * 1000:.1f} CPU-ms per new file", flush=True)
    for before, after in zip(figures, figures[1:]):  # what one more new file costs, the run's fixed cost aside
        marginal = (after["cpu_s"] - before["cpu_s"]) / max(after["new_files"] - before["new_files"], 1)
        print(f"marginal CPU per new file from {before['apartments']} to {after['apartments']} apartments: "
              f"{marginal * 1000:.2f} ms")
    smallest, largest = figures[0], figures[-1]
    print(f"tick cost ratio {largest['apartments']} : {smallest['apartments']} apartments: wall "
          f"{largest['tick_s'] / smallest['tick_s']:.1f} (silver {largest['silver_s'] / smallest['silver_s']:.1f}), "
          f"asset body {largest['body_s'] / smallest['body_s']:.1f}, "
          f"CPU {largest['cpu_s'] / smallest['cpu_s']:.1f} (new files {largest['new_files'] / smallest['new_files']:.0f})")


if __name__ == "__main__":
    main()
