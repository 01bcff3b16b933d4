"""Where files live in bronze (docs/bronze.md): `<apartment>/YYYY/MM/DD/HH/<name>` and `weather/YYYY/MM/DD/<name>`."""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sensors_io.atomic_copy import REPLACED_MARK

REJECTED_FOLDER = "_rejected"
WEATHER_FOLDER = "weather"


def parse_apartment_map(text: str) -> dict[str, str]:
    """`"JimmyLoup=jimmy,JeremieVianin=jeremie"` → mapping of SMB user to apartment id."""
    mapping = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        user, separator, apartment = pair.partition("=")
        if not separator or not user.strip() or not apartment.strip():
            raise ValueError(f"APARTMENT_MAP entry {pair!r} is not of the form User=apartment")
        mapping[user.strip()] = apartment.strip()
    return mapping


def apartment_id(user: str, mapping: dict[str, str]) -> str:
    """The short apartment id: from the map, else the user name in lower case (a new apartment needs no code).
    An id that would be one of bronze's own folders (`weather`, `_rejected`) gets the suffix `-apartment`."""
    found = mapping.get(user, user.lower())
    return f"{found}-apartment" if found in (WEATHER_FOLDER, REJECTED_FOLDER) else found


def day_folder(day: date) -> Path:
    """`YYYY/MM/DD`, the folder of a local day under an apartment or under `weather`."""
    return Path(f"{day:%Y}", f"{day:%m}", f"{day:%d}")


def sensor_bronze_folder(root: Path, apartment: str, local_minute: datetime) -> Path:
    """`<apartment>/YYYY/MM/DD/HH`, the folder of a sensor file's local hour."""
    return root / apartment / day_folder(local_minute) / f"{local_minute:%H}"


@dataclass
class BronzeDay:
    """A local day's sensor files in bronze: their paths (all apartments, sorted, temporary dot files left out)
    and the names of which bronze keeps an earlier version (their source changed). `folders`: every hour
    folder of the day, as (apartment, file name prefix `DD.MM.YYYY HH`); `listed`: the folders whose files
    these are, when not all of them were listed."""

    files: list[str] = field(default_factory=list)
    corrected: set[str] = field(default_factory=set)
    folders: set[tuple[str, str]] = field(default_factory=set)
    listed: set[tuple[str, str]] | None = None


def bronze_day(root: Path, day: date, modified_since: float | None = None,
               also: Set[tuple[str, str]] = frozenset()) -> BronzeDay:
    """The day's files, from one listing of each of its hour folders (when `modified_since` is given, epoch
    seconds: of those modified at or after it, and of the folders `also` names)."""
    listed: set[tuple[str, str]] = set()
    found = BronzeDay(listed=None if modified_since is None else listed)
    prefix = partition_prefix(day.isoformat())
    for folder in _sensor_day_folders(root, day):
        with os.scandir(folder) as entries:
            hours = sorted((entry.name, entry.path) for entry in entries if entry.is_dir())
        for hour, path in hours:
            key = (folder.parent.parent.parent.name, prefix + hour)
            found.folders.add(key)
            if modified_since is not None:
                if key not in also and os.stat(path).st_mtime < modified_since:
                    continue
                listed.add(key)
            for name in sorted(os.listdir(path)):
                if name.startswith("."):
                    continue
                if name.endswith(".json"):
                    found.files.append(os.path.join(path, name))
                elif REPLACED_MARK in name:
                    found.corrected.add(name.split(REPLACED_MARK)[0])
    return found


def _sensor_day_folders(root: Path, day: date) -> list[Path]:
    if not root.exists():
        return []
    apartments = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in (WEATHER_FOLDER, REJECTED_FOLDER))
    return [folder for folder in (apartment / day_folder(day) for apartment in apartments) if folder.is_dir()]


def rejected_files_of_day(root: Path, day: date) -> list[tuple[str, str]]:
    """Badly named files kept under `_rejected/` whose name starts with the day's prefix, with their reason."""
    folder = root / REJECTED_FOLDER
    if not folder.is_dir():
        return []
    prefix = partition_prefix(day.isoformat())
    found = []
    for path in sorted(folder.glob(f"{glob.escape(prefix)}*")):
        if path.name.endswith(".reason.json") or REPLACED_MARK in path.name or not path.is_file():
            continue
        note = path.with_name(f"{path.name}.reason.json")
        reason = json.loads(note.read_text())["reason"] if note.exists() else "badly named file"
        found.append((path.name, reason))
    return found


def weather_bronze_path(root: Path, prediction_date: date, name: str) -> Path:
    return root / WEATHER_FOLDER / day_folder(prediction_date) / name


def partition_prefix(partition_key: str) -> str:
    """Sensor filenames of a local day start with `DD.MM.YYYY ` (partition key `YYYY-MM-DD`)."""
    return f"{date.fromisoformat(partition_key):%d.%m.%Y} "


def remove_from_bronze(root: Path, files: list[Path]) -> int:
    """Delete the files and the folders they leave empty (never `root` itself); returns the bytes freed."""
    freed = 0
    for path in files:
        freed += path.stat().st_size
        path.unlink()
        folder = path.parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    return freed
