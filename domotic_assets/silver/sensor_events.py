"""`silver_sensor_events`: every reading of every bronze sensor file, exactly once, or the file quarantined."""

import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import cast

import dagster as dg
import polars as pl

from domotic_assets.bronze.assets import bronze_sensor_files
from domotic_assets.silver import store
from domotic_assets.silver.metadata import (
    FILES_ACCOUNTED_FOR,
    LEDGER_ROWS_MATCH_SILVER,
    OUTLIER_SHARE,
    SHARED_CHECKS,
    SILVER_RETRY_POLICY,
    SilverLoadConfig,
    check_results,
    check_specs,
    missing_from_bronze,
    outlier_share_failures,
    preview,
    require_bronze_root,
    table_metadata,
)
from domotic_assets.silver.reaching_back import READINGS_REACHING_BACK, gold_change
from domotic_assets.timing import daily_partitions
from resources.bronze import BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from sensors_io.bronze_layout import bronze_day, day_folder, rejected_files_of_day
from sensors_io.flatten import MAX_KEY_CHARS
from sensors_io.sensor_events import (
    FileOutcome,
    collect,
    file_checksum,
    parse_files,
    quarantine_colliding_files,
    submit_files,
)


class SensorLoadConfig(SilverLoadConfig):
    full_reload: bool = False
    """Reload a day from all its bronze files (the swap), even in a one-day run that would only append the
    files new since the day's last load (a backfill of several days always reloads)."""


IN_PROCESS_LIMIT = 6000  # below this many files a day is parsed without worker processes
LOOKAHEAD_DAYS = 2       # days parsed ahead of the one being written
SENSOR_HOUR = slice(11, 13)  # `DD.MM.YYYY HHMM_…`: the local hour of a sensor file, its bronze hour folder
LISTING_MARGIN_SECONDS = 60  # an append lists the folders modified up to this long before the last listing
FUTURE_TOLERANCE = timedelta(minutes=10)
RELOADED = "reloaded: every reading is new"
CHECKS = {
    **SHARED_CHECKS,
    LEDGER_ROWS_MATCH_SILVER: "per day, the ledger's row total equals the rows in silver.sensor_events",
    "unique_reading_key": "one reading per (apartment, sensor_id, field, timestamp): each loaded day's partition "
                          "has its unique index on that key",
    "no_future_timestamps": "no reading later than now + 10 minutes",
    "rows_per_file_in_range": "every loaded file has its apartment's usual number of readings (±20 %)",
}


@dataclass
class DayLoad:
    """What a day's load wrote, for the metadata and the checks."""

    outcomes: list[FileOutcome]
    frame: pl.DataFrame
    bronze: set[str]
    kept: set[str] = field(default_factory=set)
    kept_rows: int = 0
    badly_named: int = 0
    appended: bool = False  # only the files new since the day's last load were read and added
    reaching_back: str | None = RELOADED  # why the new readings change the gold of the day before
    folders: store.Folders = None  # the hour folders `bronze` lists, when not the whole day

    def summary(self) -> str:
        where = "" if self.folders is None else f" in the {len(self.folders)} hour folders modified since its last load"
        return f"{len(self.bronze)} files{where}, " + (f"{len(self.outcomes)} new appended" if self.appended else "reloaded")


def rows_per_file_outliers(outcomes: list[FileOutcome]) -> list[str]:
    """Loaded files whose reading count is off their apartment's usual count by more than 20 %."""
    loaded = [o for o in outcomes if o.reason is None]
    usual: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for outcome in loaded:  # one pass: a tick of 1,000 apartments has about 8,000 files
        usual[outcome.apartment][outcome.rows] += 1
    modes = {apartment: counts.most_common(1)[0][0] for apartment, counts in usual.items()}
    return [f"{o.file}: {o.rows} rows, usual {modes[o.apartment]}" for o in loaded
            if abs(o.rows - modes[o.apartment]) > 0.2 * modes[o.apartment]]


def outcome_frames(day: date, outcomes: list[FileOutcome], badly_named: list[tuple[str, str]]
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ledger rows of the loaded files and the quarantine rows of the others, badly named ones included."""
    loaded = store.ledger_frame([(o.file, o.apartment, day, o.rows, o.checksum)
                                 for o in outcomes if o.reason is None])
    rejected = store.quarantine_frame(
        [(o.file, o.apartment, day, o.reason, o.detail, o.checksum) for o in outcomes if o.reason]
        + [(name, None, day, "bad_filename", reason, None) for name, reason in badly_named])
    return loaded, rejected


def write_day(cursor, day: date, frame: pl.DataFrame, outcomes: list[FileOutcome],
              badly_named: list[tuple[str, str]], keep_missing: bool, listed_at: float, root: Path) -> DayLoad:
    """Replace one day in one transaction (its bronze listed at `listed_at`); loaded files absent from bronze
    fail the day or are kept, and the files a run of the same day loaded after the listing are kept."""
    frame, outcomes = quarantine_colliding_files(frame, outcomes)
    bronze = {o.file for o in outcomes} | {name for name, _ in badly_named}
    store.lock_day(cursor, "silver.sensor_events", day)
    meanwhile = loaded_since_listing(cursor, root, day, bronze)
    bronze |= meanwhile
    missing = missing_from_bronze(cursor, "sensor", day, bronze, keep_missing)
    carried = [*missing, *sorted(meanwhile)]  # rows silver keeps from the day as it is
    kept_frame = store.sensor_rows_of_files(cursor, day, carried) if carried else frame.clear()
    loaded, rejected = outcome_frames(day, outcomes, badly_named)
    if carried:
        loaded = pl.concat([loaded, store.ledger_rows_of_files(cursor, "sensor", carried)])
    store.record_outcomes(cursor, "sensor", [day], loaded, rejected)
    store.record_listing(cursor, day, listed_at)
    store.record_reaching_back(cursor, day, RELOADED)
    store.record_gold_changes(cursor, day, None, reaches_back=True)
    # last: the swap locks the whole table until the commit (other days' appends wait that long, not more)
    store.replace_sensor_day(cursor, day, pl.concat([frame, kept_frame.select(frame.columns)]))
    return DayLoad(outcomes, frame, bronze, set(missing), kept_frame.height, len(badly_named))


def loaded_since_listing(cursor, root: Path, day: date, listed: set[str]) -> set[str]:
    """Files of the day's ledger that a reload's listing lacks but bronze holds: a run of the same day (a live
    append beside a backfill) loaded them after the reload listed bronze. Their rows are kept, not lost."""
    unlisted = [(name, apartment) for name, apartment in store.ledger_apartments(cursor, "sensor", day)
                if name not in listed]
    return {name for name, apartment in unlisted
            if (root / apartment / day_folder(day) / name[SENSOR_HOUR] / name).is_file()}


def append_new_files(cursor, day: date, root: Path, badly_named: list[tuple[str, str]], keep_missing: bool,
                     zone_name: str, max_bytes: int) -> DayLoad | None:
    """Live path of a day loaded before: parse only the files neither the ledger nor the quarantine holds, and
    those whose version changed (a loaded file bronze keeps an earlier version of, a quarantined file read
    again; their rows are replaced), and add them to the day in one transaction. Only the hour folders
    modified since the day's last listing (less LISTING_MARGIN_SECONDS) and those holding quarantined files
    are listed, and those the ledger has files of that are gone: bronze never rewrites a loaded file in place,
    so the others hold what that load saw. A full reload reads every file again. None when the day needs the
    full reload: never loaded, or a new file collides with a loaded one."""
    store.lock_day(cursor, "silver.sensor_events", day)
    if not store.was_loaded(cursor, "sensor", day):
        return None
    listed_at, last = time.time(), store.last_listing(cursor, day)
    in_bronze = bronze_day(root, day, None if last is None else last - LISTING_MARGIN_SECONDS,
                           store.quarantined_folders(cursor, day))
    folders = None if in_bronze.listed is None else (
        in_bronze.listed | (store.ledger_folders(cursor, day) - in_bronze.folders))
    loaded, quarantined = store.recorded_checksums(cursor, "sensor", day, folders)
    recorded = loaded | quarantined
    names = {os.path.basename(path): path for path in in_bronze.files}  # a Path per file: 3.8 s at 100 apartments
    bronze = set(names) | {name for name, _ in badly_named}
    missing = missing_from_bronze(cursor, "sensor", day, bronze, keep_missing, folders)
    suspects = (in_bronze.corrected & loaded.keys() | quarantined.keys()) & names.keys()
    corrected = sorted(name for name in suspects if file_checksum(names[name], max_bytes) != recorded[name])
    new = [path for name, path in names.items() if name not in recorded or name in corrected]
    frame, outcomes = quarantine_colliding_files(*parse_files(new, str(root), zone_name, max_bytes))
    if store.append_sensor_rows(cursor, day, frame, corrected):
        return None
    change = gold_change(cursor, day, frame, corrected)
    reaching_back = change.reaching_back if change else None
    if reaching_back:
        store.record_reaching_back(cursor, day, reaching_back)
    if change:
        store.record_gold_changes(cursor, day, change.rebuild_from, reaches_back=bool(reaching_back))
    badly_named = [(name, reason) for name, reason in badly_named if name not in recorded]
    store.record_file_outcomes(cursor, "sensor", [o.file for o in outcomes] + [n for n, _ in badly_named],
                               *outcome_frames(day, outcomes, badly_named))
    store.record_listing(cursor, day, listed_at)
    return DayLoad(outcomes, frame, bronze, set(missing), badly_named=len(badly_named), appended=True,
                   reaching_back=reaching_back, folders=folders)


@dg.asset(partitions_def=daily_partitions, deps=[bronze_sensor_files], group_name="silver",
          kinds={"polars", "postgres"}, backfill_policy=dg.BackfillPolicy.single_run(),
          retry_policy=SILVER_RETRY_POLICY,
          metadata=table_metadata("silver.sensor_events", store.SENSOR_EVENT_COLUMNS),
          check_specs=check_specs("silver_sensor_events", CHECKS,
                                  blocking={FILES_ACCOUNTED_FOR, LEDGER_ROWS_MATCH_SILVER}))
def silver_sensor_events(context: dg.AssetExecutionContext, config: SensorLoadConfig, warehouse: PostgresResource,
                         bronze: BronzeResource, rules: CleaningRulesResource
                         ) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """Sensor readings in long form (silver.sensor_events), typed and flagged for outliers.
    Grain: one row per apartment, sensor, field and minute; partition = the local day of the file.
    A one-day run appends the files new since the day's last load; a backfill reloads its days."""
    with store.bronze_readers(warehouse):  # beside other silver runs, never beside an erasure or a retention
        loads, result = load_sensor_days(context, config, warehouse, bronze, rules)
    yield result
    for day, load in loads.items():
        if not load.reaching_back:
            context.log.info(f"{day}: no new reading reaches the day before, whose gold stays as it is")
    with store.take_reaching_back(warehouse) as recorded:
        for day, reasons in sorted(recorded.items()):  # this run's and those a failed run left
            yield dg.AssetMaterialization(READINGS_REACHING_BACK, partition=day.isoformat(),
                                          metadata={"reason": "; ".join(reasons)})


readings_reaching_back = dg.AssetSpec(
    READINGS_REACHING_BACK, deps=[silver_sensor_events], group_name="silver", partitions_def=daily_partitions,
    description="Recorded by `silver_sensor_events` for a day whose new readings change the gold of the day before "
                "(readings before the day's midnight, or among the first good ones of an energy series): every "
                "reload, files read again, and live appends of today's files in the day's first hour (later for a "
                "sparse device). Holds no rows: the gold day before follows it.")


def load_sensor_days(context: dg.AssetExecutionContext, config: SensorLoadConfig, warehouse: PostgresResource,
                     bronze: BronzeResource, rules: CleaningRulesResource
                     ) -> tuple[dict[date, DayLoad], dg.MaterializeResult]:
    """The body of `silver_sensor_events`: append or reload the run's days, then check them."""
    started = time.monotonic()
    require_bronze_root(bronze.path)
    days = [date.fromisoformat(key) for key in context.partition_keys]
    stats: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    loads: dict[date, DayLoad] = {}
    with warehouse.connect() as connection, connection.cursor() as cursor:
        store.ensure_schema(cursor)
    if len(days) == 1 and not config.full_reload:
        with warehouse.connect() as connection, connection.cursor() as cursor:
            appended = append_new_files(cursor, days[0], bronze.path, rejected_files_of_day(bronze.path, days[0]),
                                        config.keep_missing_files, rules.sensor_timezone, rules.sensor_file_max_bytes)
        if appended:
            loads[days[0]] = appended
    reloaded = [day for day in days if day not in loads]
    listed_at = {day: time.time() for day in reloaded}
    in_bronze = {day: bronze_day(bronze.path, day) for day in reloaded}
    total_files = sum(len(in_bronze[day].files) for day in reloaded) + sum(len(load.outcomes) for load in loads.values())
    use_pool = max((len(in_bronze[day].files) for day in reloaded), default=0) > IN_PROCESS_LIMIT or len(reloaded) > 2
    pool = ProcessPoolExecutor(max_workers=rules.parse_workers, mp_context=get_context("spawn")) if use_pool else None
    first_frame = None
    checks_failed: dict[str, list[str]] = {name: [] for name in CHECKS}
    try:
        pending = {}
        for day in days:
            if day not in loads:
                position = reloaded.index(day)
                for ahead in reloaded[position:position + LOOKAHEAD_DAYS + 1]:
                    if ahead not in pending:  # parse the next days while this one is written
                        pending[ahead] = submit_files(pool, in_bronze[ahead].files, bronze.path, rules.sensor_timezone,
                                                      rules.sensor_file_max_bytes)
                frame, outcomes = collect(pending.pop(day))
                badly_named = rejected_files_of_day(bronze.path, day)
                with warehouse.connect() as connection, connection.cursor() as cursor:
                    loads[day] = write_day(cursor, day, frame, outcomes, badly_named, config.keep_missing_files,
                                           listed_at[day], bronze.path)
            load = loads[day]
            frame = load.frame
            quarantined = [o for o in load.outcomes if o.reason]
            stats["rows"] += frame.height + load.kept_rows
            stats["outliers"] += cast(int, frame["is_outlier"].sum())
            stats["loaded"] += len(load.outcomes) - len(quarantined)
            stats["quarantined"] += len(quarantined) + load.badly_named
            stats["bad_filename"] += load.badly_named
            stats["kept_missing_files"] += len(load.kept)
            stats["timestamp_from_filename"] += sum(o.timestamp_from_filename for o in load.outcomes)
            long_keys = [o.file for o in load.outcomes if dict(o.skipped).get("key_too_long")]
            for outcome in load.outcomes:
                skipped.update(dict(outcome.skipped))
            if long_keys:
                context.log.warning(f"{day}: sensors with a key over {MAX_KEY_CHARS} characters skipped in "
                                    f"{len(long_keys)} files, e.g. {long_keys[0]} (readings_skipped: key_too_long)")
            first_frame = frame if first_frame is None else first_frame
            load.frame = frame.clear()  # a long backfill keeps each day's figures, not its rows
            if frame.height:
                latest = cast(datetime, frame["timestamp"].max())
                if latest > datetime.now(timezone.utc) + FUTURE_TOLERANCE:
                    checks_failed["no_future_timestamps"].append(f"{day}: latest {latest}")
            context.log.info(f"{day}: {load.summary()}: {len(load.outcomes) - len(quarantined)} loaded "
                             f"({frame.height} rows), {len(quarantined) + load.badly_named} quarantined"
                             + (f", {len(load.kept)} missing from bronze kept" if load.kept else ""))
            for outcome in quarantined:
                context.log.warning(f"quarantined {outcome.file}: {outcome.reason} ({outcome.detail})")
    finally:
        if pool:
            pool.shutdown()
    seconds = time.monotonic() - started
    outcomes_all = [o for load in loads.values() for o in load.outcomes]
    with warehouse.connect() as connection, connection.cursor() as cursor:
        for day, load in loads.items():
            checks_failed[FILES_ACCOUNTED_FOR] += store.unaccounted_files(cursor, "sensor", day, load.bronze,
                                                                            load.kept, load.folders)
        checks_failed[LEDGER_ROWS_MATCH_SILVER] = store.ledger_rows_against_silver(
            cursor, days, [day for day, load in loads.items() if load.appended])
        checks_failed["unique_reading_key"] = store.days_without_unique_key(cursor, days)
    checks_failed["rows_per_file_in_range"] = rows_per_file_outliers(outcomes_all)
    checks_failed[OUTLIER_SHARE] = outlier_share_failures(stats["outliers"], stats["rows"])
    reasons = Counter(o.reason for o in outcomes_all if o.reason) + Counter(bad_filename=stats["bad_filename"])
    unknown_rooms = sorted({room for o in outcomes_all for room in o.unknown_rooms})
    return loads, dg.MaterializeResult(
        metadata={
            "files_read": total_files,
            "bronze_files_listed": sum(len(load.bronze) for load in loads.values()),
            "days_appended": sum(load.appended for load in loads.values()),
            "files_loaded": stats["loaded"],
            "files_quarantined": stats["quarantined"],
            "quarantine_reasons": dict(reasons),
            "readings_skipped": dict(skipped),
            "files_missing_from_bronze_kept": stats["kept_missing_files"],
            "dagster/row_count": stats["rows"],
            "outliers": int(stats["outliers"]),
            "timestamps_from_filename": stats["timestamp_from_filename"],
            "unknown_rooms": ", ".join(unknown_rooms) or "none",
            "seconds": round(seconds, 2),
            "rows_per_second": round(stats["rows"] / seconds) if seconds else 0,
            "files_per_second": round(total_files / seconds) if seconds else 0,
            "preview": preview(first_frame),
        },
        check_results=check_results(checks_failed, warn_only={"rows_per_file_in_range", OUTLIER_SHARE}),
    )
