"""Copy one day of sensor files from the share into bronze, in parallel and atomically.

A file is skipped when bronze already holds it with the same size and modification time (each hour folder
of the day listed once; a corrected file is copied again, its earlier version kept beside it), deferred when
it was modified within `settle_seconds` or changed size while being copied, left out when its apartment was
erased on request (`sensors_io.erased`; a badly named file of its user too), rejected (kept under `_rejected/`
with a reason note) when its name is unsafe or does not parse, names another day or an unmapped user whose id
is another apartment's, refused (a reason note, no copy) when it is a symbolic link, and reported as failed
when the share cannot be read.

Given `names` (the new files the sensor found), only those are looked up on the share, one by one, instead of
listing the whole day: a tick at 100 apartments then costs what its new files cost.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sensors_io.atomic_copy import SizeMismatch, copy_atomically, is_version, same_version
from sensors_io.bronze_layout import (
    apartment_id,
    partition_prefix,
    rejected_path,
    sensor_bronze_folder,
    write_reason_note,
)
from sensors_io.erased import ErasedApartments
from sensors_io.filenames import FilenameError, parse_sensor_filename, user_in_name
from sensors_io.safe_names import UnsafeName, stored_name, unsafe_reason
from sensors_io.share import Share, ShareFileInfo


@dataclass
class CopyReport:
    listed: int = 0
    copied: int = 0
    skipped: int = 0
    deferred: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    bytes: int = 0
    apartments: set[str] = field(default_factory=set)
    erased: int = 0  # files of apartments erased on request: left on the share, never copied
    gone: list[str] = field(default_factory=list)  # named files no longer on the share


def copy_day(share: Share, root: Path, apartments: dict[str, str], partition_key: str, now: float,
             settle_seconds: float = 5.0, workers: int = 16, names: Sequence[str] | None = None) -> CopyReport:
    """Bring bronze up to date with the share for one local day (or for the `names` of it only)."""
    share.ensure_reachable()  # an unmounted share is an error, not an empty day
    report = CopyReport()
    erased = ErasedApartments.read(root)
    day = date.fromisoformat(partition_key)
    held = HeldVersions(root)
    jobs: list[tuple[ShareFileInfo, Path]] = []
    found = share.list_files(partition_prefix(partition_key)) if names is None else _look_up(share, names, report)
    for info in found:
        report.listed += 1
        if erased and erased_user_file(info.name, apartments, erased):
            report.erased += 1
            continue
        if info.is_link:
            report.rejected.append((info.name, f"symlink: {info.name!r} is a link, never followed"))
            continue
        if reason := unsafe_reason(info.name):  # a note only, under a safe name: such a name is never opened
            report.rejected.append((stored_name(info.name), f"{info.name!r} is {reason}"))
            continue
        try:
            parsed = parse_sensor_filename(info.name)
            if parsed.local_minute.date() != day:
                raise FilenameError(f"{info.name!r} names {parsed.local_minute.date()}, not {day}")
            apartment = apartment_id(parsed.user, apartments)
        except (FilenameError, UnsafeName) as error:
            report.rejected.append((info.name, str(error)))
            jobs.append((info, rejected_path(root, info.name)))
            continue
        report.apartments.add(apartment)
        folder = held.folder(apartment, parsed.local_minute)
        if held.holds(folder, info):  # known current: no job, no path, no second stat
            report.skipped += 1
            continue
        jobs.append((info, folder / info.name))

    def copy(job: tuple[ShareFileInfo, Path]) -> tuple[str, int, str]:  # (outcome, bytes, why it failed)
        info, target = job
        if same_version(target, info.size, info.mtime):
            return "skipped", 0, ""
        if now - info.mtime < settle_seconds:
            return "deferred", 0, ""
        try:
            return "copied", copy_atomically(lambda: share.open(info.name), target, info.size, info.mtime), ""
        except SizeMismatch:  # the file changed while it was copied: still being written
            return "deferred", 0, ""
        except OSError as error:
            return "failed", 0, f"{type(error).__name__}: {error}"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for (info, _target), (outcome, size, problem) in zip(jobs, pool.map(copy, jobs)):
            if outcome == "copied":
                report.copied += 1
                report.bytes += size
            elif outcome == "skipped":
                report.skipped += 1
            elif outcome == "deferred":
                report.deferred.append(info.name)
            else:
                report.failed.append((info.name, problem))
    for name, reason in report.rejected:
        write_reason_note(root, name, reason)
    return report


def erased_user_file(name: str, apartments: dict[str, str], erased: ErasedApartments) -> bool:
    """Whether a share file, well named or not, is of a user whose apartment was erased on request."""
    user = user_in_name(name)
    try:
        return user is not None and erased.holds(apartment_id(user, apartments))
    except UnsafeName:
        return False


def _look_up(share: Share, names: Sequence[str], report: CopyReport) -> Iterator[ShareFileInfo]:
    for name in names:
        if reason := unsafe_reason(name):
            raise UnsafeName(f"{name!r} is {reason}: not a file name of the share")
        info = share.stat(name)
        if info is None:
            report.gone.append(name)
        else:
            yield info


class HeldVersions:
    """What bronze already holds of a day, listed once per hour folder: a tick at 100 apartments checks
    144,000 held files against the share's listing without a path, a stat or a thread job for each."""

    def __init__(self, root: Path):
        self.root = root
        self._folders: dict[tuple[str, int], Path] = {}
        self._listed: dict[Path, dict[str, tuple[int, float]]] = {}

    def folder(self, apartment: str, local_minute: datetime) -> Path:
        key = (apartment, local_minute.hour)
        if key not in self._folders:
            self._folders[key] = sensor_bronze_folder(self.root, apartment, local_minute)
        return self._folders[key]

    def holds(self, folder: Path, info: ShareFileInfo) -> bool:
        if folder not in self._listed:
            self._listed[folder] = _versions(folder)
        held = self._listed[folder].get(info.name)
        return held is not None and is_version(*held, info.size, info.mtime)


def _versions(folder: Path) -> dict[str, tuple[int, float]]:
    """Size and modification time of each file of one folder, by name (nothing when it does not exist)."""
    try:
        with os.scandir(folder) as entries:
            return {entry.name: (stat.st_size, stat.st_mtime) for entry in entries if entry.is_file()
                    for stat in (entry.stat(),)}
    except FileNotFoundError:
        return {}
