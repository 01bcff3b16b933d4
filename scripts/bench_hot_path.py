"""Benchmark of the hot path: seconds from a sensor file landing on the share to its minute in silver and in gold,
with the platform running as in production; prints figures, asserts nothing.

    .venv/bin/python scripts/bench_hot_path.py [--apartments 2 100] [--live-minutes 10] [--history-days 3]
        [--no-backfill] [--workdir /tmp/domotic-hot-path]

For each building size, in a runtime folder of its own (own ports, nothing of `make up` touched): the demo's
PostgreSQL, MariaDB and sFTP server start, the generator writes `--history-days` days before today and today up
to now onto the share, and Dagster starts as `DAGSTER_MODE=service` runs it (webserver + daemon: the sensors,
the automation, the run queue). Once the history is in (its gold days built, no run queued), a backfill of the
history days before yesterday (silver and the gold daily facts, launched as the UI launches one) starts (a
backfill of yesterday would target today's gold too: it reads yesterday's silver), and the live phase begins: at
each local minute, the files of that minute of every apartment land on the share (generated beforehand, moved in
with a fresh mtime), as the sensors write them. Every second the warehouse is asked which of them are in silver
(the file ledger) and whose minute is in gold (`fact_energy_minute` of the apartment). Prints, per size: the
files, the seconds to silver and to gold (median, p95, max), files not there after the drain, and where the
seconds go: the live runs' wait in the queue, their launch (process start and code loading) and their
duration, and how many failed, per kind of run, and how long the automation's backfills waited for their first
run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from demo.__main__ import prepare_sources, services
from demo.settings import load_demo_settings
from domotic_config.variables import TIMEZONE
from domotic_ops.procs import free_port
from resources.postgres import PostgresResource
from sensors_io.filenames import parse_sensor_filename

ZONE = ZoneInfo(TIMEZONE)
BACKFILLED = ["silver_sensor_events", "fact_energy_minute", "fact_environment_minute", "fact_presence_minute",
              "fact_device_health_day"]
SETTLED_LOOKS = 3
DRAIN_SECONDS = 240
LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"median {statistics.median(values):5.1f} s, p95 {percentile(values, 0.95):5.1f} s, "
            f"max {max(values):5.1f} s")


def wait_settled(instance: dg.DagsterInstance, feeder: Feeder, days: list[str], limit_seconds: float) -> float:
    """Seconds until the gold facts of `days` are built and no run waits in the queue (SETTLED_LOOKS looks in a
    row, 10 s apart), at most `limit_seconds`; the files keep arriving meanwhile (their runs come and go)."""
    started, quiet = time.monotonic(), 0
    while quiet < SETTLED_LOOKS and time.monotonic() - started < limit_seconds:
        for _ in range(10):
            feeder.feed()
            time.sleep(1)
        built = instance.get_materialized_partitions(dg.AssetKey("fact_energy_minute"))
        queued = instance.get_runs_count(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]))
        quiet = quiet + 1 if set(days) <= built and queued == 0 else 0
    return time.monotonic() - started


def launch_backfill(url: str, days: list[str]) -> str:
    """A backfill of the history days' silver and gold facts, through the webserver as the UI launches one."""
    params = {"partitionNames": days, "assetSelection": [{"path": [name]} for name in BACKFILLED],
              "fromFailure": False}
    request = urllib.request.Request(f"{url}/graphql", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"query": LAUNCH_BACKFILL, "variables": {"params": params}})
                                     .encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())["data"]["launchPartitionBackfill"]
    if answer["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"backfill not launched: {answer}")
    return answer["backfillId"]


def hold_back_future(share: Path, holding: Path, now: datetime) -> dict[datetime, list[str]]:
    """Moves today's files of the minutes from now on out of the share; their names by local minute."""
    holding.mkdir(parents=True, exist_ok=True)
    by_minute: dict[datetime, list[str]] = {}
    for path in share.glob(f"{now:%d.%m.%Y}*.json"):
        minute = parse_sensor_filename(path.name).local_minute
        if minute >= now.replace(tzinfo=None, second=0, microsecond=0):
            path.rename(holding / path.name)
            by_minute.setdefault(minute, []).append(path.name)
    return by_minute


class Feeder:
    """Lands each minute's files on the share 2 s into that minute (local time), as the sensors write them, for
    as long as the benchmark runs (a gap would leave the share sensor's probing behind)."""

    def __init__(self, by_minute: dict[datetime, list[str]], holding: Path, share: Path):
        self.by_minute, self.holding, self.share = by_minute, holding, share
        self.landed: dict[str, float] = {}  # name -> the instant it was on the share

    def feed(self) -> None:
        now = datetime.now(ZONE).replace(tzinfo=None)
        for minute in [m for m in sorted(self.by_minute) if m + timedelta(seconds=2) <= now]:
            for name in self.by_minute.pop(minute):
                (self.holding / name).rename(self.share / name)
                os.utime(self.share / name)
                self.landed[name] = time.time()


def observe(warehouse: PostgresResource, pending: dict[str, float], in_silver: dict[str, float],
            in_gold: dict[str, float], apartments: dict[str, str]) -> None:
    """Notes, for the landed files, the first look that finds them in silver and their minute in gold."""
    now = time.time()
    with warehouse.connect() as connection, connection.cursor() as cursor:
        waiting = [name for name in pending if name not in in_silver]
        if waiting:
            cursor.execute("SELECT file, apartment FROM silver.file_ledger WHERE file = ANY(%s)", (waiting,))
            for name, apartment in cursor.fetchall():
                in_silver[name] = now - pending[name]
                apartments[name] = apartment
        waiting = [name for name in in_silver if name not in in_gold]
        if waiting:
            local = {name: parse_sensor_filename(name).local_minute.replace(tzinfo=ZONE) for name in waiting}
            keys = {name: int(minute.astimezone(ZoneInfo("UTC")).strftime("%Y%m%d%H%M"))
                    for name, minute in local.items()}
            cursor.execute("""
                SELECT DISTINCT f.datetime_key, a.apartment FROM gold.fact_energy_minute AS f
                JOIN unnest(%s::text[]) AS a (apartment) ON f.apartment_key = governance.apartment_key(a.apartment)
                WHERE f.date_key = ANY(%s) AND f.datetime_key = ANY(%s)""",
                           (sorted({apartments[n] for n in waiting}),
                            sorted({int(minute.strftime("%Y%m%d")) for minute in local.values()}),
                            sorted(set(keys.values()))))
            found = set(cursor.fetchall())
            for name in waiting:
                if (keys[name], apartments[name]) in found:
                    in_gold[name] = now - pending[name]


def run_kind(run: dg.DagsterRun) -> str:
    """What a run did, for the report: its job, or for Dagster's asset job what its assets are."""
    backfill = " (backfill)" if "dagster/backfill" in run.tags else ""
    if run.job_name != "__ASSET_JOB":
        return run.job_name + backfill
    names = {key.to_user_string() for key in run.asset_selection or ()}
    for prefix, kind in (("silver_", "silver days"), ("fact_", "gold days"), ("device_health", "device-health alerts"),
                         ("occupancy_", "ML"), ("power_", "ML")):
        if any(name.startswith(prefix) for name in names):
            return kind + backfill
    return "other assets" + backfill


def runs_since(instance: dg.DagsterInstance, since: float) -> dict[str, list[tuple[float, float, float, bool]]]:
    """Per kind of run, the (queue wait, launch, run duration, failed) of the finished runs created since `since`:
    the queue from its creation until the run coordinator hands it to the launcher, the launch until its process
    has loaded the code location and starts."""
    found: dict[str, list[tuple[float, float, float, bool]]] = {}
    for record in instance.get_run_records(limit=2000):
        if record.create_timestamp.timestamp() >= since and record.start_time and record.end_time:
            run = record.dagster_run
            starting = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_STARTING).records
            dequeued = starting[0].timestamp if starting else record.start_time
            found.setdefault(run_kind(run), []).append((dequeued - record.create_timestamp.timestamp(),
                                                        record.start_time - dequeued,
                                                        record.end_time - record.start_time,
                                                        run.status == dg.DagsterRunStatus.FAILURE))
    return found


def backfill_waits(instance: dg.DagsterInstance, since: float, excluded: str | None) -> list[float]:
    """For each backfill created since `since` (the one the benchmark launched excluded), the seconds until its
    first run existed: Dagster's backfill daemon looks for new backfills every 30 s."""
    waits = []
    for backfill in instance.get_backfills(limit=1000):
        if backfill.backfill_timestamp >= since and backfill.backfill_id != excluded:
            records = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
            if records:
                waits.append(min(r.create_timestamp.timestamp() for r in records) - backfill.backfill_timestamp)
    return waits


def hot_path(apartments: int, live_minutes: int, history_days: int, backfill: bool, workdir: Path) -> None:
    folder = workdir / f"{apartments}-apartments"
    shutil.rmtree(folder, ignore_errors=True)
    today = datetime.now(ZONE).date()
    settings = load_demo_settings(runtime=folder / "runtime", read_environment=False, overrides={
        "DEMO_APARTMENTS": str(apartments), "DEMO_START": (today - timedelta(days=history_days)).isoformat(),
        "DEMO_DAYS": str(history_days + 1), "DAGSTER_MODE": "service", "DAGSTER_PORT": str(free_port()),
        "DOMOTIC_PG_PORT": str(free_port()), "DEMO_SFTP_PORT": str(free_port()),
        "DEMO_MYSQL_PORT": str(free_port())})
    running = services(settings)
    try:
        started = time.monotonic()
        for name, service in running.items():
            if name != "dagster":
                service.start()
        prepare_sources(settings)
        share, holding = Path(settings["SMB_PATH"]), folder / "holding"
        feeder = Feeder(hold_back_future(share, holding, datetime.now(ZONE) + timedelta(minutes=1)), holding, share)
        os.environ.update(running["dagster"].environment())
        running["dagster"].start()
        instance = dg.DagsterInstance.get()
        days = [(today - timedelta(days=n)).isoformat() for n in range(history_days, -1, -1)]
        settled = wait_settled(instance, feeder, days, 3600)
        print(f"{apartments} apartments: platform up and history loaded in {time.monotonic() - started:.0f} s "
              f"(settled {settled:.0f} s after Dagster started)", flush=True)
        backfill_id = None
        if backfill:  # older days: a backfill of yesterday targets today's gold too (it reads yesterday's silver)
            backfill_id = launch_backfill(running['dagster'].url, days[:-2])
            print(f"  backfill {backfill_id} of {', '.join(days[:-2])} launched", flush=True)
        warehouse = PostgresResource(db_url=settings["DB_URL"])
        before = set(feeder.landed)
        in_silver: dict[str, float] = {}
        in_gold: dict[str, float] = {}
        apartment_of: dict[str, str] = {}
        live_began = time.time()
        while time.time() - live_began < 60 * live_minutes:
            feeder.feed()
            pending = {name: at for name, at in feeder.landed.items() if name not in before}
            observe(warehouse, pending, in_silver, in_gold, apartment_of)
            time.sleep(1)
        drain_until = time.time() + DRAIN_SECONDS
        while time.time() < drain_until and len(in_gold) < len(pending):
            observe(warehouse, pending, in_silver, in_gold, apartment_of)
            time.sleep(1)
        ran = "" if backfill_id is None else (
            f" while the backfill ran (its status at the end: {instance.get_backfill(backfill_id).status.value})")
        print(f"  live: {len(pending)} files over {live_minutes} minutes{ran}")
        print(f"  to silver: {summary(list(in_silver.values()))}; not in silver: {len(pending) - len(in_silver)}")
        print(f"  to gold:   {summary(list(in_gold.values()))}; not in gold: {len(pending) - len(in_gold)}")
        for kind, runs in sorted(runs_since(instance, live_began).items()):
            waits, launches, durations = ([run[field] for run in runs] for field in range(3))
            print(f"  {kind}: {len(runs)} runs ({sum(run[3] for run in runs)} failed), queue {summary(waits)}; "
                  f"launch {summary(launches)}; run {summary(durations)}")
        waits = backfill_waits(instance, live_began, backfill_id)
        print(f"  the automation's backfills: {len(waits)}, their first run after {summary(waits)}")
    finally:
        for service in reversed(running.values()):
            service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apartments", type=int, nargs="+", default=[2, 100])
    parser.add_argument("--live-minutes", type=int, default=10)
    parser.add_argument("--history-days", type=int, default=3)
    parser.add_argument("--no-backfill", action="store_true", help="measure on an idle platform")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/domotic-hot-path"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the servers it started stop with it
    for apartments in args.apartments:
        hot_path(apartments, args.live_minutes, args.history_days, not args.no_backfill, args.workdir)


if __name__ == "__main__":
    main()
