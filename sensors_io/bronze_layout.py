"""Where files live in bronze (docs/bronze.md): `<apartment>/YYYY/MM/DD/HH/<name>`, `weather/YYYY/MM/DD/<name>`,
and rejected files in `_rejected/`, their reason notes in `_rejected/.reasons/` (no share name starts with `.`)."""

from __future__ import annotations

import glob
import json
import os
import time
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from domotic_config.private import PRIVATE_FILE, private_folder
from sensors_io.atomic_copy import REPLACED_MARK
from sensors_io.erased import ErasedApartments
from sensors_io.safe_names import UnsafeName, check_apartment_id, stored_name

REJECTED_FOLDER = "_rejected"
REASONS_FOLDER = ".reasons"
WEATHER_FOLDER = "weather"


def parse_apartment_map(text: str) -> dict[str, str]:
    """`"JimmyLoup=jimmy,JeremieVianin=jeremie"` → mapping of SMB user to apartment id."""
    mapping = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        user, separator, apartment = pair.partition("=")
        if not separator or not user.strip() or not apartment.strip():
            raise ValueError(f"APARTMENT_MAP entry {pair!r} is not of the form User=apartment")
        if apartment.strip() == WEATHER_FOLDER:
            raise ValueError(f"APARTMENT_MAP entry {pair!r}: {WEATHER_FOLDER!r} is bronze's forecast folder")
        mapping[user.strip()] = check_apartment_id(apartment.strip())
    return mapping


def apartment_id(user: str, mapping: dict[str, str]) -> str:
    """The short apartment id: from the map, else the user name in lower case (a new apartment needs no code).
    An unmapped user whose lower-case name is a mapped apartment's id or a mapped user's name in another case
    (`Jimmy`, `JIMMYLOUP` beside `JimmyLoup=jimmy`) is refused (UnsafeName), never merged into that apartment.
    An id that would be one of bronze's own folders (`weather`) gets the suffix `-apartment`."""
    if user in mapping:
        return mapping[user]
    found = user.lower()
    found = f"{found}-apartment" if found == WEATHER_FOLDER else found
    if found in {known.lower() for known in mapping.values()} or user.lower() in {known.lower() for known in mapping}:
        raise UnsafeName(f"SMB user {user!r} is not in APARTMENT_MAP and its id {found!r} would be another "
                         "user's apartment")
    return check_apartment_id(found)


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
    """The day's folder of every apartment, erased ones left out (a copy that raced an erasure)."""
    if not root.exists():
        return []
    erased = ErasedApartments.read(root)
    apartments = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in (WEATHER_FOLDER, REJECTED_FOLDER)
                        and not (erased and erased.holds(p.name)))
    return [folder for folder in (apartment / day_folder(day) for apartment in apartments) if folder.is_dir()]


def rejected_path(root: Path, name: str) -> Path:
    """Where a rejected share file is kept: `_rejected/<name>`, or a safe stand-in name when its own is not."""
    return root / REJECTED_FOLDER / stored_name(name)


def write_reason_note(root: Path, name: str, reason: str) -> None:
    """The note of a rejected file (its name, the reason, when first seen), in `_rejected/.reasons/`: mode 600
    in folders of mode 700, as bronze's files."""
    note = root / REJECTED_FOLDER / REASONS_FOLDER / f"{stored_name(name)}.json"
    if not note.exists():
        private_folder(note.parent)
        temporary = note.with_name(f".{note.name}.{os.getpid()}")
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "w") as out:
            json.dump({"file": name, "reason": reason, "first_seen": time.time()}, out)
        os.replace(temporary, note)


def rejected_files_of_day(root: Path, day: date) -> list[tuple[str, str]]:
    """Rejected share files whose name starts with the day's prefix, with their reason: from the notes in
    `_rejected/.reasons/`, and the files kept by earlier versions with a note beside them."""
    folder = root / REJECTED_FOLDER
    if not folder.is_dir():
        return []
    pattern = f"{glob.escape(partition_prefix(day.isoformat()))}*"
    found = {}
    for note in sorted((folder / REASONS_FOLDER).glob(pattern)):
        content = _note(note)
        if content and isinstance(content.get("file"), str):
            found[content["file"]] = str(content.get("reason", "badly named file"))
    for path in sorted(folder.glob(pattern)):
        if path.name in found or REPLACED_MARK in path.name or path.is_symlink() or not path.is_file():
            continue
        beside = _note(path.with_name(f"{path.name}.reason.json"))  # the notes of earlier versions
        if path.name.endswith(".reason.json") and _note(path).get("file") == path.name[:-len(".reason.json")]:
            continue  # such a note itself
        found[path.name] = str(beside.get("reason", "badly named file"))
    return sorted(found.items())


def _note(path: Path) -> dict:
    """A reason note's content; empty when it is missing or is not one (any file may carry such a name)."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


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
