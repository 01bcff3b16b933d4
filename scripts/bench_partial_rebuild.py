"""What a live gold run that rebuilds its minute facts from a minute costs, against a rebuild of the whole day;
prints figures, asserts nothing.

    DB_URL=postgresql+psycopg2://… .venv/bin/python scripts/bench_partial_rebuild.py --day 2026-12-07 --from 14:30
        [--repeat 2]

Against a warehouse whose gold holds the day (the hot-path benchmark's, for instance, its PostgreSQL started
again): `dbt build` of the day's models (`tag:daily`, as a gold run of the day builds them), by dbt's command line
(`python -m domotic_ops dbt`), in turns whole and from the given local time (var `rebuild_from`). Per build: the
seconds of the command, of its models and of its tests (summed over dbt's threads), and of the slowest models and
tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from domotic_assets.gold.assets import DAILY_MODELS
from domotic_config.settings import load_settings
from domotic_config.variables import TIMEZONE
from domotic_ops.cli import dbt_command

SLOWEST = 4  # models and tests named in the figures


def build(day: date, rebuild_from: datetime | None) -> dict[str, float]:
    """One `dbt build` of the day's models; seconds per part."""
    window = {"min_date": day.isoformat(), "max_date": (day + timedelta(days=1)).isoformat(),
              **({"rebuild_from": rebuild_from.isoformat()} if rebuild_from else {})}
    with tempfile.TemporaryDirectory() as target:
        command, env = dbt_command(load_settings(), [
            "build", "--select", DAILY_MODELS, "--exclude-resource-type", "unit_test", "--indirect-selection",
            "buildable", "--vars", json.dumps(window), "--target-path", target])
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        seconds = {"command": time.perf_counter() - started}
        results = json.loads((Path(target) / "run_results.json").read_text())["results"]
    parts: dict[str, float] = defaultdict(float, seconds)
    nodes: dict[str, dict[str, float]] = {}
    for result in results:
        kind, _, name = result["unique_id"].split(".", 2)
        parts["models" if kind == "model" else "tests"] += result["execution_time"]
        nodes.setdefault(kind, {})[name.rsplit(".", 1)[0] if kind == "test" else name] = result["execution_time"]
    for kind, seconds_of in nodes.items():
        for name in sorted(seconds_of, key=seconds_of.__getitem__, reverse=True)[:SLOWEST]:
            parts[f"{kind} {name}"] = seconds_of[name]
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="the local day to build")
    parser.add_argument("--from", dest="start", type=lambda text: datetime.strptime(text, "%H:%M").time(),
                        required=True, help="the local time a partial build starts from (HH:MM)")
    parser.add_argument("--repeat", type=int, default=2, help="builds of each kind, in turns")
    args = parser.parse_args()
    start = datetime.combine(args.day, args.start, ZoneInfo(TIMEZONE)).astimezone(timezone.utc)
    builds = {"whole day": None, f"from {args.start:%H:%M} local": start}
    for turn in range(args.repeat):
        for label, rebuild_from in builds.items():
            parts = build(args.day, rebuild_from)
            print(f"{label} (#{turn + 1}): " + ", ".join(f"{part} {seconds:.1f} s" for part, seconds in parts.items()),
                  flush=True)


if __name__ == "__main__":
    main()
