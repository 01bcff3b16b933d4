"""Write a reproducible demo data set: sensor files into the share folder, forecast CSVs into the sFTP folder.

`python -m demo generate --start 2023-10-01 --days 14 --apartments 2 [--malformed]`
A manifest (`<runtime>/demo/manifest.json`) records the parameters, the file counts and every injected case.
"""

from __future__ import annotations

import json
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from demo.generator import malformed
from demo.generator.apartments import Apartment, apartments
from demo.generator.sensors import ApartmentSimulator
from demo.generator.weather import WeatherTruth, forecast_csv
from domotic_config.private import private_folder
from domotic_config.variables import TIMEZONE
from sensors_io.filenames import weather_filename


@dataclass(frozen=True)
class GenerationRequest:
    start: date
    days: int
    apartments: int
    seed: int = 42
    malformed: bool = False
    timezone: str = TIMEZONE
    hours: int = 24  # the files of each day's first `hours` local hours (benchmarks of a day still arriving)

    def key(self) -> dict:
        return {**asdict(self), "start": self.start.isoformat()}


@dataclass
class ApartmentResult:
    user: str
    files: int
    rows_per_file: int
    cases: list[dict] = field(default_factory=list)


def _weather_truth(request: GenerationRequest) -> WeatherTruth:
    return WeatherTruth(request.start - timedelta(days=1), request.days + 4, request.seed)


def _sensor_targets(request: GenerationRequest, index: int) -> dict[int, list[str]]:
    """Which malformed cases land on which day of apartment `index` (all apartments share the cases)."""
    targets: dict[int, list[str]] = {}
    if not request.malformed:
        return targets
    cases = [*malformed.SENSOR_CASES, malformed.BAD_SENSOR_NAME]
    for number, case in enumerate(cases):
        if number % request.apartments == index % request.apartments:
            targets.setdefault((number * 3) % request.days, []).append(case)
    return targets


def instant_hour(instant: datetime, zone: str) -> int:
    return instant.astimezone(ZoneInfo(zone)).hour


def _write(path: Path, content: bytes, instant_epoch: float) -> None:
    path.write_bytes(content)
    os.utime(path, (instant_epoch, instant_epoch))


def generate_apartment(request: GenerationRequest, index: int, share: Path) -> ApartmentResult:
    """All the files of one apartment, day after day (its counters and batteries carry over)."""
    apartment: Apartment = apartments(request.apartments)[index]
    simulator = ApartmentSimulator(apartment, _weather_truth(request), request.seed, request.timezone, request.start)
    targets = _sensor_targets(request, index)
    reset_day = min(2, request.days - 1) if request.malformed and index == 0 else None
    result = ApartmentResult(apartment.user, 0, apartment.rows_per_file)
    for offset in range(request.days):
        day = request.start + timedelta(days=offset)
        if offset == reset_day:
            simulator.schedule_counter_reset(day, 600, apartment.plugs[0])
            result.cases.append({"case": "counter_reset", "source": "share", "plug": apartment.plugs[0],
                                 "file": f"{day:%d.%m.%Y} 1000_{apartment.user}_received.json"})
        files = [file for file in simulator.day(day)
                 if instant_hour(file[1], request.timezone) < request.hours]
        rng = random.Random(f"{request.seed}:cases:{apartment.user}:{day}")
        chosen = {rng.randrange(len(files)): case for case in targets.get(offset, [])}
        for position, (name, instant, payload) in enumerate(files):
            case = chosen.get(position)
            content = orjson.dumps(payload)
            if case == malformed.BAD_SENSOR_NAME:
                name = malformed.bad_sensor_name(name)
            elif case:
                content = malformed.SENSOR_CASES[case](payload)
            if case:
                result.cases.append({"case": case, "source": "share", "file": name})
            _write(share / name, content, instant.timestamp() + 5)
        result.files += len(files)
    return result


def generate_weather(request: GenerationRequest, folder: Path) -> list[dict]:
    """One forecast file per day, plus the malformed files when requested."""
    truth = _weather_truth(request)
    cases = []
    for offset in range(request.days):
        day = request.start + timedelta(days=offset)
        text = forecast_csv(truth, day, request.seed)
        encoding = "utf-8"
        if request.malformed and offset == min(1, request.days - 1):
            text = malformed.bad_time_rows(text)
            cases.append({"case": "bad_time_rows", "source": "sftp", "file": weather_filename(day)})
        elif request.malformed and offset == min(2, request.days - 1):
            encoding = "latin-1"
            cases.append({"case": "latin1", "source": "sftp", "file": weather_filename(day)})
        _write(folder / weather_filename(day), text.encode(encoding), _issue_epoch(day))
    if request.malformed:
        cases.extend(_extra_weather_files(request, folder, truth))
    return cases


def _issue_epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, 5, 40).timestamp()


def _extra_weather_files(request: GenerationRequest, folder: Path, truth: WeatherTruth) -> list[dict]:
    old_day = date(request.start.year - 1, 12, 31)
    old_truth = WeatherTruth(old_day, 4, request.seed)
    empty_day = request.start - timedelta(days=1)
    no_unit_day = request.start - timedelta(days=2)
    badly_named = f"Pred_{request.start:%Y%m%d}.csv"
    files = {
        weather_filename(old_day): ("year_2022", forecast_csv(old_truth, old_day, request.seed), old_day),
        weather_filename(empty_day): ("empty_file", "", empty_day),
        weather_filename(no_unit_day): ("missing_column",
                                        malformed.drop_unit_column(forecast_csv(truth, no_unit_day + timedelta(2),
                                                                                request.seed)), no_unit_day),
        badly_named: ("bad_name", forecast_csv(truth, request.start, request.seed), request.start),
    }
    for name, (_, text, day) in files.items():
        _write(folder / name, text.encode("utf-8"), _issue_epoch(day))
    return [{"case": case, "source": "sftp", "file": name} for name, (case, _, _) in files.items()]


def generate(request: GenerationRequest, share: Path, weather_folder: Path, manifest_path: Path) -> dict:
    """Generate everything (skipped when the manifest says the same request was already written)."""
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("request") == request.key() and _still_there(manifest, share, weather_folder):
            return manifest
    private_folder(share)
    private_folder(weather_folder)
    with ProcessPoolExecutor(max_workers=min(request.apartments, os.cpu_count() or 1)) as pool:
        results = list(pool.map(generate_apartment, [request] * request.apartments, range(request.apartments),
                                [share] * request.apartments))
    weather_cases = generate_weather(request, weather_folder)
    manifest = {
        "request": request.key(),
        "share": str(share),
        "weather_folder": str(weather_folder),
        "apartments": [{"user": r.user, "files": r.files, "rows_per_file": r.rows_per_file} for r in results],
        "weather_files": request.days + (4 if request.malformed else 0),
        "cases": [case for r in results for case in r.cases] + weather_cases,
    }
    private_folder(manifest_path.parent)
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def _still_there(manifest: dict, share: Path, weather_folder: Path) -> bool:
    expected = sum(a["files"] for a in manifest["apartments"])
    return (manifest["share"] == str(share) and share.is_dir()
            and sum(1 for _ in os.scandir(share)) >= expected and weather_folder.is_dir())
