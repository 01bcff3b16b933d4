"""Bronze sensor files → silver rows (docs/sources.md#flattening), or a quarantine record with the reason.

`parse_files` works on a list of bronze paths and returns a Polars frame of readings plus one outcome per
file (loaded with its row count and checksum, or rejected with reason and detail). A file over
SENSOR_FILE_MAX_BYTES is rejected (`too_large`) without being read. It runs in worker processes
(`submit_files` and `collect` split a day into chunks for a pool); nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import Executor, Future
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import polars as pl

from domotic_config.variables import default
from sensors_io.filenames import FilenameError, parse_sensor_filename
from sensors_io.flatten import ROOM_MAP, FlattenError, Reading, flatten_payload
from sensors_io.outliers import SENSOR_BOUNDS
from sensors_io.size_limits import read_within, too_large

CHUNK = 1500  # files per parse task
MAX_BYTES = int(default("SENSOR_FILE_MAX_BYTES"))
PLAUSIBLE_YEARS = (2000, 2100)
BOM = b"\xef\xbb\xbf"
DATETIME_FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S")
KNOWN_ROOMS = {*ROOM_MAP.values(), "Office", "Kitchen", "Laundry", "Outdoor", "Outside", "House",
               "Dishwasher", "WashingMachine", "Dryer"}
SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "apartment": pl.String, "room": pl.String, "sensor_type": pl.String, "sensor_id": pl.String,
    "field": pl.String, "value": pl.Float64, "unit": pl.String, "timestamp": pl.Datetime("us", "UTC"),
    "is_outlier": pl.Boolean, "source_file": pl.String}
# A reading's identity within a day. Rows in this order let PostgreSQL build a day's unique index from presorted
# input (byte order, as PostgreSQL's C and C.UTF-8 collations compare; another collation only sorts more).
READING_KEY = ("apartment", "sensor_id", "field", "timestamp")


@dataclass(frozen=True)
class FileOutcome:
    """What became of one bronze file."""

    file: str
    apartment: str
    checksum: str
    rows: int = 0
    reason: str | None = None  # None = loaded
    detail: str = ""
    timestamp_from_filename: bool = False
    unknown_rooms: tuple[str, ...] = ()
    skipped: tuple[tuple[str, int], ...] = ()  # readings or categories skipped, by reason


class TimestampOutOfRange(ValueError):
    """A `datetime` that reads but names an implausible year (a device clock reset to 0001, say)."""


def local_timestamp(text, zone: ZoneInfo) -> datetime | None:
    """The payload's wall-clock `datetime` in `zone`, as UTC; None when missing or unreadable, and
    `TimestampOutOfRange` when it reads but lies outside the plausible years."""
    if not isinstance(text, str):
        return None
    for fmt in DATETIME_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        if not PLAUSIBLE_YEARS[0] <= moment.year <= PLAUSIBLE_YEARS[1]:
            raise TimestampOutOfRange(f"`datetime` {text!r} is outside the years {PLAUSIBLE_YEARS[0]}–{PLAUSIBLE_YEARS[1]}")
        return moment.replace(tzinfo=zone).astimezone(timezone.utc)
    return None


def content_checksum(content: bytes) -> str:
    """The checksum the ledger and the quarantine keep of a file's version."""
    return hashlib.sha1(content).hexdigest()


def file_checksum(path: str, max_bytes: int = MAX_BYTES) -> str:
    """The checksum of a file's present version; "" for a file over `max_bytes`, never read (it is quarantined as
    `too_large` whatever its version, with no checksum)."""
    content, _ = read_within(path, max_bytes)
    return "" if content is None else content_checksum(content)


def _apartment_of(path: str, root: str) -> str:
    """The apartment of a bronze file: the first folder of its path below `root` (string operations: a Path
    per file cost the main process 4 % of a backfill)."""
    if not path.startswith(root):
        raise ValueError(f"{path} is not under the bronze root {root}")
    return path[len(root):].lstrip(os.sep).split(os.sep, 1)[0]


def parse_files(paths: list[str], root: str, zone_name: str, max_bytes: int = MAX_BYTES
                ) -> tuple[pl.DataFrame, list[FileOutcome]]:
    """Parse bronze files into readings (frame, in READING_KEY order) and one outcome per file; a file over
    `max_bytes` is quarantined unread."""
    zone = ZoneInfo(zone_name)
    readings: list = []
    loaded: dict[str, list] = {"apartment": [], "timestamp": [], "source_file": []}
    counts: list[int] = []
    outcomes = []
    for path in paths:
        name, apartment = os.path.basename(path), _apartment_of(path, root)
        try:
            content, size = read_within(path, max_bytes)
        except OSError as error:
            outcomes.append(FileOutcome(name, apartment, "", reason="unreadable", detail=str(error)))
            continue
        if content is None:
            outcomes.append(FileOutcome(name, apartment, "", reason="too_large",
                                        detail=too_large(size, max_bytes, "SENSOR_FILE_MAX_BYTES")))
            continue
        checksum = content_checksum(content)
        outcome, file_readings, instant = _parse_one(name, apartment, checksum, content, zone)
        outcomes.append(outcome)
        if outcome.reason is None:
            readings.extend(file_readings)
            loaded["apartment"].append(apartment)
            loaded["timestamp"].append(instant)
            loaded["source_file"].append(name)
            counts.append(len(file_readings))
    return _frame(readings, loaded, counts), outcomes


def submit_files(pool: Executor | None, paths: list[str], root: Path, zone_name: str, max_bytes: int = MAX_BYTES,
                 chunk: int = CHUNK) -> list:
    """Parse files in chunks: futures on the pool, or the done results when there is no pool. A chunk holds
    files of one apartment (split beyond `chunk` files), so for `paths` in apartment order, as a bronze listing
    gives them, the parts' readings together are in key order too."""
    root_text = str(root)
    chunks = []
    for _, group in groupby(paths, key=lambda path: _apartment_of(path, root_text)):
        files = list(group)
        chunks += [files[i:i + chunk] for i in range(0, len(files), chunk)]
    chunks = chunks or [[]]
    if pool is None:
        return [parse_files(part, root_text, zone_name, max_bytes) for part in chunks]
    return [pool.submit(parse_files, part, root_text, zone_name, max_bytes) for part in chunks]


def collect(parts: list) -> tuple[pl.DataFrame, list[FileOutcome]]:
    """The readings and outcomes of `submit_files`' parts, in order (waiting for futures)."""
    done = [part.result() if isinstance(part, Future) else part for part in parts]
    return pl.concat([frame for frame, _ in done]), [o for _, outcomes in done for o in outcomes]


def quarantine_colliding_files(frame: pl.DataFrame, outcomes: list[FileOutcome]
                               ) -> tuple[pl.DataFrame, list[FileOutcome]]:
    """Two files of one apartment with the same instant (a stuck device clock, the spring-forward hour)
    would collide on the reading key: the first by name loads, each later one is quarantined with reason
    `duplicate_timestamp`, naming the file it collides with. Nothing is merged silently."""
    if frame.is_empty():
        return frame, outcomes
    files = frame.group_by("apartment", "source_file").agg(pl.col("timestamp").first()).sort("source_file")
    first = files.group_by("apartment", "timestamp", maintain_order=True).agg(pl.col("source_file").first().alias("kept"))
    later = files.join(first, on=["apartment", "timestamp"]).filter(pl.col("source_file") != pl.col("kept"))
    if later.is_empty():
        return frame, outcomes
    kept_by = dict(zip(later["source_file"], later["kept"]))
    outcomes = [replace(o, rows=0, reason="duplicate_timestamp",
                        detail=f"same apartment and instant as {kept_by[o.file]}, which is loaded")
                if o.reason is None and o.file in kept_by else o for o in outcomes]
    return frame.filter(~pl.col("source_file").is_in(list(kept_by))), outcomes


def _frame(readings: list, loaded: dict[str, list], counts: list[int]) -> pl.DataFrame:
    """Readings plus their file's apartment, timestamp and name, in key order; outliers flagged with the bounds
    table."""
    values = pl.DataFrame(readings, schema={k: SCHEMA[k] for k in Reading._fields}, orient="row")
    files = pl.DataFrame(loaded, schema={k: SCHEMA[k] for k in loaded})
    per_row = files[np.repeat(np.arange(files.height), counts)] if counts else files.clear()
    frame = pl.concat([values, per_row], how="horizontal")
    bounds = pl.DataFrame([(t, f, lo, hi) for (t, f), (lo, hi) in SENSOR_BOUNDS.items()],
                          schema={"sensor_type": pl.String, "field": pl.String, "lo": pl.Float64, "hi": pl.Float64},
                          orient="row")
    frame = frame.join(bounds, on=["sensor_type", "field"], how="left", maintain_order="left")
    outlier = (~pl.col("value").is_finite()) | (pl.col("value") < pl.col("lo")).fill_null(False) | (
        pl.col("value") > pl.col("hi")).fill_null(False)
    # Sorted by the rank of (apartment, sensor_id, field), then time: READING_KEY order, in half the time of a
    # sort on the four columns.
    device_field = pl.struct(*READING_KEY[:-1]).rank("dense")
    return frame.with_columns(is_outlier=outlier).select(list(SCHEMA)).sort(device_field, READING_KEY[-1])


def _parse_one(name: str, apartment: str, checksum: str, content: bytes, zone: ZoneInfo):
    """One file's outcome, readings and instant; any unforeseen error quarantines just this file."""
    try:
        return _parse_content(name, apartment, checksum, content, zone)
    except Exception as error:  # per-file isolation: one file never fails the day
        return _reject(name, apartment, checksum, "unexpected", f"{type(error).__name__}: {error}")


def _reject(name: str, apartment: str, checksum: str, reason: str, detail: str):
    return FileOutcome(name, apartment, checksum, reason=reason, detail=detail), [], None


def _load_json(content: bytes):
    """orjson for speed; the standard library for the `NaN`/`Infinity` literals orjson refuses."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def _parse_content(name: str, apartment: str, checksum: str, content: bytes, zone: ZoneInfo):
    def reject(reason: str, detail: str):
        return _reject(name, apartment, checksum, reason, detail)

    content = content.removeprefix(BOM)  # what Windows tools write before UTF-8 text
    if not content.strip():
        return reject("empty_file", "the file holds no data")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        return reject("not_utf8", f"byte {error.start}: {error.reason}")
    try:
        payload = _load_json(content)
    except ValueError as error:
        return reject("invalid_json", str(error))
    try:
        readings, skipped = flatten_payload(payload)
    except FlattenError as error:
        return reject(error.reason, error.detail)
    try:
        instant = local_timestamp(payload.get("datetime"), zone)
    except TimestampOutOfRange as error:
        return reject("timestamp_out_of_range", str(error))
    from_filename = instant is None
    if from_filename:
        try:
            instant = parse_sensor_filename(name).local_minute.replace(tzinfo=zone).astimezone(timezone.utc)
        except FilenameError as error:
            return reject("no_timestamp", f"`datetime` unreadable and {error}")
    unknown = tuple(sorted({r.room for r in readings} - KNOWN_ROOMS))
    outcome = FileOutcome(name, apartment, checksum, rows=len(readings), timestamp_from_filename=from_filename,
                          unknown_rooms=unknown, skipped=tuple(sorted(skipped.items())))
    return outcome, readings, instant
