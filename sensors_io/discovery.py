"""Discovery of new sensor files on the share, cheap per tick however many files the share holds.

Predictive mode (every tick): from each apartment's last seen minute, stat the next expected names up to the
present minute and one beyond it (a sensor's clock a minute ahead); up to `lookahead` missing minutes in a row
are tolerated. Cost: proportional to the new files, plus two names for an apartment with nothing new and
`lookahead` for one that has gone quiet. The apartments waiting longest are probed first, so a tick cut short by
`max_probes` leaves others for the next tick, never the same ones. A file named more than a minute ahead of the
platform's clock is found when its minute comes. When an apartment's probing stops more than `lookahead` minutes
before the present (a gap, the spring-forward hour), one listing of the share, at most every `gap_interval`
seconds, picks up its newer files at once. Full listing (first tick, then every `full_scan_interval` seconds):
finds gaps of any length, new apartments and changed files, by comparing a per-partition summary (files, bytes,
newest mtime) with the one kept in the cursor. Files modified within `settle_seconds` are pending, not counted.
Files dated more than `future_minutes` after now are held back (`Discovery.future`): never counted, they move
no cursor, so one misdated file cannot make later ticks skip the present.
Probing and gap listings also name the new files of each partition (`Discovery.names`), so that a run can
copy just those; a full listing names none (its runs list their day).
An unreachable share raises `ShareUnreachable` (never "no new files").

The cursor is JSON and only moves forward; a partition's summary is its content version, used in run keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domotic_config.variables import integer
from sensors_io.filenames import SMB_USER, FilenameError, parse_sensor_filename, sensor_filename
from sensors_io.share import Share, ShareFileInfo

MAX_PENDING = 10_000
CLOCK_AHEAD_MINUTES = 1  # a sensor's clock may run this far ahead of the platform's and its file still be probed


@dataclass
class Cursor:
    last_minute: dict[str, str] = field(default_factory=dict)  # user -> ISO local minute
    partitions: dict[str, list] = field(default_factory=dict)  # partition -> [files, bytes, newest mtime]
    pending: list[str] = field(default_factory=list)  # names seen while still being written
    rejected: list[str] = field(default_factory=list)  # names that do not parse (reported once)
    last_full_scan: float = 0.0
    last_gap_listing: float = 0.0
    requested_again: dict[str, int] = field(default_factory=dict)  # partition -> requests after failed runs

    @classmethod
    def from_json(cls, text: str | None) -> Cursor:
        return cls(**json.loads(text)) if text else cls()

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True, separators=(",", ":"))

    def version(self, partition: str) -> str:
        files, size, newest = self.partitions[partition]
        return f"{files}f-{size}b-{int(newest)}"


@dataclass
class Discovery:
    cursor: Cursor
    changed: list[str]  # partitions whose content version changed
    new_files: int
    full_scan: bool
    probes: int = 0
    pending: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # newly seen (name, reason)
    names: dict[str, list[str]] = field(default_factory=dict)  # partition -> its new files, when all are known
    future: list[str] = field(default_factory=list)  # names dated too far after now: held back


def discover(share: Share, cursor: Cursor, now: float, full_scan_interval: float, settle_seconds: float = 5.0,
             lookahead: int = 15, max_probes: int = 20_000, zone: str = "UTC", gap_interval: float = 600,
             future_minutes: int | None = None) -> Discovery:
    """`future_minutes`: SENSOR_FUTURE_MINUTES unless given."""
    share.ensure_reachable()
    cursor = Cursor.from_json(cursor.to_json())  # never mutate the caller's cursor
    present = datetime.fromtimestamp(now, ZoneInfo(zone)).replace(tzinfo=None)
    ahead = integer("SENSOR_FUTURE_MINUTES") if future_minutes is None else future_minutes
    latest = (present + timedelta(minutes=ahead)).isoformat(timespec="minutes")
    if any(minute > latest for minute in cursor.last_minute.values()):
        cursor.last_full_scan = 0.0  # a position moved too far ahead by an earlier version: list again now
    cursor.last_minute = {user: minute for user, minute in cursor.last_minute.items()
                          if SMB_USER.match(user) and minute <= latest}  # (an erased user's pseudonym is none)
    if now - cursor.last_full_scan >= full_scan_interval:
        return _full_scan(share, cursor, now, settle_seconds, latest)
    horizon = present + timedelta(minutes=CLOCK_AHEAD_MINUTES)
    found = _predictive(share, cursor, now, settle_seconds, lookahead, max_probes, horizon)
    behind = {user for user, last in cursor.last_minute.items()
              if datetime.fromisoformat(last) < present - timedelta(minutes=lookahead)}
    if behind and now - cursor.last_gap_listing >= gap_interval:
        _list_gaps(share, found, behind, now, settle_seconds, latest)
    return found


def _list_gaps(share: Share, found: Discovery, users: set[str], now: float, settle_seconds: float,
               latest: str) -> None:
    """One listing for the apartments whose probing stopped short of the present: their newer files."""
    cursor = found.cursor
    cursor.last_gap_listing = now
    pending = set(cursor.pending)
    changed = set(found.changed)
    newest = dict(cursor.last_minute)
    for info in share.list_files():
        try:
            parsed = parse_sensor_filename(info.name)
        except FilenameError:
            continue
        minute = parsed.local_minute.isoformat(timespec="minutes")
        if parsed.user not in users or minute <= cursor.last_minute[parsed.user] or info.name in pending:
            continue
        if minute > latest:
            found.future.append(info.name)
            continue
        if not _settled(info, now, settle_seconds):
            cursor.pending.append(info.name)
            found.pending += 1
            continue
        changed.add(_count(cursor, info, found.names))
        found.new_files += 1
        newest[parsed.user] = max(newest[parsed.user], minute)
    cursor.last_minute.update(newest)
    found.changed = sorted(changed)


def forget(found: Discovery, is_forgotten: Callable[[str], bool]) -> None:
    """Drop the files `is_forgotten` names (those of erased apartments) from the cursor and the runs' names, so
    that neither Dagster's sensor state nor a run's config keeps their users."""
    cursor = found.cursor
    cursor.last_minute = {user: minute for user, minute in cursor.last_minute.items()
                          if not is_forgotten(sensor_filename(datetime.fromisoformat(minute), user))}
    cursor.pending = [name for name in cursor.pending if not is_forgotten(name)]
    cursor.rejected = [name for name in cursor.rejected if not is_forgotten(name)]
    found.names = {key: [name for name in names if not is_forgotten(name)] for key, names in found.names.items()}
    found.rejected = [(name, reason) for name, reason in found.rejected if not is_forgotten(name)]
    found.future = [name for name in found.future if not is_forgotten(name)]


def _settled(info: ShareFileInfo, now: float, settle_seconds: float) -> bool:
    return now - info.mtime >= settle_seconds


def _full_scan(share: Share, cursor: Cursor, now: float, settle_seconds: float, latest: str) -> Discovery:
    summaries: dict[str, list] = {}
    pending, rejected, future = [], [], []
    reported = set(cursor.rejected)  # a set: a share of many badly named files stays one pass
    for info in share.list_files():
        try:
            parsed = parse_sensor_filename(info.name)
        except FilenameError as error:
            if info.name not in reported:
                rejected.append((info.name, str(error)))
            continue
        minute = parsed.local_minute.isoformat(timespec="minutes")
        if minute > latest:
            future.append(info.name)
            continue
        if not _settled(info, now, settle_seconds):
            pending.append(info.name)
            continue
        summary = summaries.setdefault(parsed.local_minute.date().isoformat(), [0, 0, 0.0])
        summary[0] += 1
        summary[1] += info.size
        summary[2] = max(summary[2], info.mtime)
        if minute > cursor.last_minute.get(parsed.user, ""):
            cursor.last_minute[parsed.user] = minute
    changed = [key for key, summary in sorted(summaries.items()) if cursor.partitions.get(key) != summary]
    new_files = sum(summaries[key][0] - (cursor.partitions.get(key) or [0])[0] for key in changed)
    cursor.partitions.update(summaries)
    cursor.pending = pending[:MAX_PENDING]
    cursor.rejected = sorted(reported.union(name for name, _ in rejected))
    cursor.last_full_scan = now
    return Discovery(cursor, changed, max(new_files, 0), True, pending=len(pending), rejected=rejected,
                     future=future)


def _predictive(share: Share, cursor: Cursor, now: float, settle_seconds: float, lookahead: int,
                max_probes: int, horizon: datetime) -> Discovery:
    changed: set[str] = set()
    names: dict[str, list[str]] = {}
    found = probes = 0
    still_pending = []
    known_pending = set(cursor.pending)
    for name in cursor.pending:  # files that were being written at the last look
        probes += 1
        info = share.stat(name)
        if info is None:
            continue
        if not _settled(info, now, settle_seconds):
            still_pending.append(name)
        else:
            changed.add(_count(cursor, info, names))
            found += 1
            parsed = parse_sensor_filename(name)
            stamp = parsed.local_minute.isoformat(timespec="minutes")
            cursor.last_minute[parsed.user] = max(cursor.last_minute.get(parsed.user, ""), stamp)
    for user, last in sorted(cursor.last_minute.items(), key=lambda item: (item[1], item[0])):
        minute, misses = datetime.fromisoformat(last), 0
        while misses < lookahead and probes < max_probes:
            minute += timedelta(minutes=1)
            if minute > horizon:
                break
            probes += 1
            info = share.stat(sensor_filename(minute, user))
            if info is None:
                misses += 1
                continue
            misses = 0
            if info.name in known_pending:
                continue  # handled above, counted once
            if not _settled(info, now, settle_seconds):
                still_pending.append(info.name)
                continue
            changed.add(_count(cursor, info, names))
            found += 1
            cursor.last_minute[user] = minute.isoformat(timespec="minutes")
    cursor.pending = still_pending[:MAX_PENDING]
    return Discovery(cursor, sorted(changed), found, False, probes=probes, pending=len(still_pending), names=names)


def _count(cursor: Cursor, info: ShareFileInfo, names: dict[str, list[str]]) -> str:
    """Add a settled, newly seen file to its partition's summary and to `names`; returns the partition."""
    key = parse_sensor_filename(info.name).local_minute.date().isoformat()
    names.setdefault(key, []).append(info.name)
    summary = cursor.partitions.setdefault(key, [0, 0, 0.0])
    summary[0] += 1
    summary[1] += info.size
    summary[2] = max(summary[2], info.mtime)
    return key
