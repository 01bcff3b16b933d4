"""Benchmark of the sources-to-bronze path; prints figures, asserts nothing.

    .venv/bin/python scripts/bench_bronze.py [--days 87] [--apartments 2] [--workdir /tmp/domotic-bench]

Generates ~250,000 sensor files (2 apartments x 87 days) into a mounted-folder share, then measures:
the sensor's full listing, a predictive tick with nothing new and with 10 new files, copy throughput into
bronze on the mounted folder and over the SMB protocol (Samba on loopback; needs root and smbd).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from demo.generator.generate import GenerationRequest, generate
from demo.samba import EmbeddedSamba
from domotic_ops.procs import free_port
from resources.bronze import DEFAULT_APARTMENTS
from resources.smb import SMBShareResource
from sensors_io.discovery import Cursor, discover
from sensors_io.filenames import sensor_filename
from sensors_io.sensor_copy import copy_day


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    print(f"{label:<58} {seconds:8.3f} s")
    return result, seconds



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=87)
    parser.add_argument("--apartments", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/domotic-bench"))
    args = parser.parse_args()
    share, bronze = args.workdir / "share", args.workdir / "bronze"
    request = GenerationRequest(start=date(2023, 8, 1), days=args.days, apartments=args.apartments, seed=1)
    manifest, _ = timed("generate the share (skipped when present)",
                        lambda: generate(request, share, args.workdir / "sftp", args.workdir / "manifest.json"))
    files = sum(a["files"] for a in manifest["apartments"])
    print(f"share: {files} sensor files in {share}")

    mounted = SMBShareResource(path=str(share))
    now = time.time()
    full, _ = timed("sensor full listing (all files, per-partition summary)",
                    lambda: discover(mounted, Cursor(), now, full_scan_interval=86400))
    quiet, seconds = timed("sensor predictive tick, nothing new",
                           lambda: discover(mounted, full.cursor, now, full_scan_interval=86400))
    print(f"{'':<58} {quiet.probes} names probed")
    last_day = request.start + timedelta(days=args.days)
    added = []
    for minute in range(10):
        name = sensor_filename(datetime.combine(last_day, clock(0, minute)), "JimmyLoup")
        shutil.copyfile(next(share.glob("*_JimmyLoup_received.json")), share / name)
        os.utime(share / name, (now - 60, now - 60))
        added.append(share / name)
    ticked, _ = timed("sensor predictive tick, 10 new files",
                      lambda: discover(mounted, quiet.cursor, now, full_scan_interval=86400))
    print(f"{'':<58} {ticked.new_files} new files found, {ticked.probes} names probed")
    for path in added:
        path.unlink()

    shutil.rmtree(bronze, ignore_errors=True)
    days = [(request.start + timedelta(days=d)).isoformat() for d in range(min(5, args.days))]
    copied = 0

    def copy_mounted():
        nonlocal copied
        for key in days:
            copied += copy_day(mounted, bronze, DEFAULT_APARTMENTS, key, time.time()).copied

    _, seconds = timed(f"copy {len(days)} days into bronze, mounted folder", copy_mounted)
    print(f"{'':<58} {copied} files, {copied / seconds:,.0f} files/s")

    if os.geteuid() != 0 or not shutil.which("smbd", path="/usr/sbin:/usr/bin"):
        print("SMB protocol: skipped (needs root and Samba's smbd)")
        return
    samba = EmbeddedSamba(args.workdir / "samba", share, free_port(), secrets.token_urlsafe(16))
    samba.start()
    try:
        protocol = SMBShareResource(path=samba.url, user=samba.user, password=samba.password)
        day = days[0]
        listing, _ = timed("SMB protocol: listing of one day (server-side pattern)",
                           lambda: protocol.list_files(f"{date.fromisoformat(day):%d.%m.%Y} "))
        shutil.rmtree(bronze, ignore_errors=True)
        report, seconds = timed("SMB protocol: copy one day into bronze",
                                lambda: copy_day(protocol, bronze, DEFAULT_APARTMENTS, day, time.time()))
        print(f"{'':<58} {report.copied} files, {report.copied / seconds:,.0f} files/s")
        _, seconds = timed("SMB protocol: full listing", lambda: protocol.list_files())
    finally:
        samba.stop()


if __name__ == "__main__":
    main()
