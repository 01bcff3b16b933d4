"""The silver tables in the warehouse: schema, the atomic replacement of a day, the file ledger and quarantine,
and the reference tables typed from their source."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import psycopg2.errors
import sqlalchemy as sa
from psycopg2 import sql
from psycopg2.extras import execute_values

from resources.postgres import PostgresResource, copy_frame
from sensors_io.sensor_events import READING_KEY
from sensors_io.sensor_events import SCHEMA as READING_SCHEMA

SCHEMA_SQL = (Path(__file__).parent / "store.sql").read_text()
SCHEMA_VERSION = f"domotic silver tables {hashlib.sha1(SCHEMA_SQL.encode()).hexdigest()[:12]}"
LEDGER_SCHEMA = {"file": pl.String, "apartment": pl.String, "partition_date": pl.Date, "rows": pl.Int64,
                 "checksum": pl.String}
QUARANTINE_SCHEMA = {"file": pl.String, "apartment": pl.String, "partition_date": pl.Date, "reason": pl.String,
                     "detail": pl.String, "checksum": pl.String}
# Columns of the silver tables (as in store.sql), with their meaning; shown in the Dagster UI.
SENSOR_EVENT_COLUMNS = {
    "apartment": ("text", "apartment id (SMB user through APARTMENT_MAP)"),
    "room": ("text", "room, normalised (Bhroom -> Bathroom); unknown rooms kept"),
    "sensor_type": ("text", "plug, door, window, motion, meteo, humidity or consumption"),
    "sensor_id": ("text", "one physical sensor (two windows of one room are two sensors)"),
    "field": ("text", "measured quantity (power, temperature_c, open, ...)"),
    "value": ("double precision", "reading"),
    "unit": ("text", "unit of the reading"),
    "timestamp": ("timestamptz", "minute of the reading (file datetime read in SENSOR_TIMEZONE)"),
    "is_outlier": ("boolean", "outside the plausible bounds of its sensor type and field, or NaN"),
    "source_file": ("text", "bronze file the reading comes from"),
    "partition_date": ("date", "local day of the file name (the Dagster partition)"),
}
WEATHER_FORECAST_COLUMNS = {
    "timestamp": ("timestamptz", "target time (UTC)"),
    "site": ("text", "forecast site"),
    "prediction": ("smallint", "lead time in hours"),
    "prediction_date": ("date", "issue date, from the file name (the Dagster partition)"),
    "measurement": ("text", "measurement code (PRED_T_2M_ctrl, ...)"),
    "value": ("double precision", "forecast value"),
    "unit": ("text", "unit of the value"),
    "is_outlier": ("boolean", "outside the plausible bounds of its measurement"),
    "source_file": ("text", "bronze file the row comes from"),
}
SENSOR_COLUMNS = tuple(SENSOR_EVENT_COLUMNS)
BRONZE_READERS = "domotic silver.sensor_events bronze readers"  # the lock of `bronze_readers`


def ledger_frame(rows: list[tuple]) -> pl.DataFrame:
    """Ledger rows of loaded files: (file, apartment, partition_date, rows, checksum)."""
    return pl.DataFrame(rows, schema=LEDGER_SCHEMA, orient="row")


def quarantine_frame(rows: list[tuple]) -> pl.DataFrame:
    """Quarantine rows: (file, apartment, partition_date, reason, detail, checksum); detail cut to 500 chars."""
    return pl.DataFrame([(*row[:4], row[4][:500], row[5]) for row in rows], schema=QUARANTINE_SCHEMA, orient="row")


def ensure_schema(cursor) -> None:
    """Create the `silver` schema (when missing: a role owning it needs no CREATE on the database) and its
    tables, idempotently and one session at a time. The schema's comment names the version of
    store.sql applied; when it is current nothing runs: the DDL locks every partition of
    silver.sensor_events, so after a backfill a run waited behind autovacuum (23 s to minutes)."""
    cursor.execute("SELECT obj_description(to_regnamespace('silver'), 'pg_namespace')")
    if cursor.fetchone()[0] == SCHEMA_VERSION:
        return
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext('domotic silver schema'))")
    cursor.execute("SELECT to_regnamespace('silver')")
    if cursor.fetchone()[0] is None:
        cursor.execute("CREATE SCHEMA silver")
    cursor.execute(SCHEMA_SQL)
    cursor.execute(sql.SQL("COMMENT ON SCHEMA silver IS {}").format(sql.Literal(SCHEMA_VERSION)))


def replace_sensor_day(cursor, day: date, frame: pl.DataFrame) -> None:
    """Swap the day's partition of silver.sensor_events for a new table holding `frame`, and its rows of the
    device registry (same transaction: readers see the old day or the new one, never a mix). A frame in
    READING_KEY order, as parsed, has its unique index built from presorted rows (0.27 -> 0.10 s a day of 2
    apartments)."""
    lock_day(cursor, "silver.sensor_events", day)
    suffix = f"{day:%Y%m%d}"
    final = f"sensor_events_{suffix}"
    staging = f"sensor_events_{suffix}_{secrets.token_hex(4)}"
    parent = sql.Identifier("silver", "sensor_events")
    table = sql.Identifier("silver", staging)
    frame = frame.with_columns(partition_date=pl.lit(day))
    cursor.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(table, parent))
    copy_frame(cursor, frame, f"silver.{staging}", SENSOR_COLUMNS)
    cursor.execute(sql.SQL("CREATE UNIQUE INDEX ON {} ({})").format(
        table, sql.SQL(", ").join(map(sql.Identifier, (*READING_KEY, "partition_date")))))
    cursor.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK (partition_date = %s)").format(
        table, sql.Identifier(f"{staging}_day")), (day,))
    cursor.execute("SELECT to_regclass(%s)", (f"silver.{final}",))
    if cursor.fetchone()[0]:
        cursor.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(parent, sql.Identifier("silver", final)))
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier("silver", final)))
    cursor.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(table, sql.Identifier(final)))
    cursor.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM (%s) TO (%s)").format(
        parent, sql.Identifier("silver", final)), (day, day + timedelta(days=1)))
    cursor.execute("DELETE FROM silver.sensor_days WHERE partition_date = %s", (day,))
    copy_frame(cursor, sensor_day_registry(frame), "silver.sensor_days")


def sensor_day_registry(frame: pl.DataFrame) -> pl.DataFrame:
    """The device registry's rows of some readings, as silver.refresh_sensor_days computes them from the table
    (here from the rows in memory: a day of 2 apartments costs 0.01 s in Polars against 0.15 s of the server)."""
    battery = pl.col("field") == "battery"
    return frame.group_by("apartment", "room", "sensor_type", "sensor_id", "partition_date").agg(
        readings=pl.len(), minutes=pl.col("timestamp").n_unique(), has_battery=battery.any(),
        has_counter=(pl.col("field") == "total").any(), battery_min=pl.col("value").filter(battery).min(),
        battery_avg=pl.col("value").filter(battery).mean(), battery_readings=battery.sum())


def record_outcomes(cursor, source: str, days: Sequence[date], loaded: pl.DataFrame, rejected: pl.DataFrame) -> None:
    """Replace the ledger rows of `days` and record the quarantine; a file that loads leaves the quarantine.

    `loaded`: file, apartment, partition_date, rows, checksum. `rejected`: file, apartment, partition_date,
    reason, detail, checksum.
    """
    cursor.execute("DELETE FROM silver.file_ledger WHERE source = %s AND partition_date = ANY(%s)",
                   (source, list(days)))
    _record(cursor, source, loaded, rejected)


def record_file_outcomes(cursor, source: str, files: Sequence[str], loaded: pl.DataFrame,
                         rejected: pl.DataFrame) -> None:
    """`record_outcomes` for some files only (an append): their ledger rows are replaced, the others kept."""
    cursor.execute("DELETE FROM silver.file_ledger WHERE source = %s AND file = ANY(%s)", (source, list(files)))
    _record(cursor, source, loaded, rejected)


def _record(cursor, source: str, loaded: pl.DataFrame, rejected: pl.DataFrame) -> None:
    if loaded.height:
        copy_frame(cursor, loaded.with_columns(source=pl.lit(source)), "silver.file_ledger",
                                    ["file", "source", "apartment", "partition_date", "rows", "checksum"])
        cursor.execute("DELETE FROM silver.rejected_files WHERE file = ANY(%s)", (loaded["file"].to_list(),))
    cursor.execute("CREATE TEMP TABLE rejected_now (LIKE silver.rejected_files INCLUDING DEFAULTS) ON COMMIT DROP")
    if rejected.height:
        copy_frame(cursor, rejected.with_columns(source=pl.lit(source)), "rejected_now",
                                    ["file", "source", "apartment", "partition_date", "reason", "detail", "checksum"])
    cursor.execute("""
        INSERT INTO silver.rejected_files (file, source, apartment, partition_date, reason, detail, checksum)
        SELECT file, source, apartment, partition_date, reason, detail, checksum FROM rejected_now
        ON CONFLICT (file) DO UPDATE SET reason = EXCLUDED.reason, detail = EXCLUDED.detail,
            checksum = EXCLUDED.checksum, partition_date = EXCLUDED.partition_date, last_seen = now()""")
    cursor.execute("DROP TABLE rejected_now")


def append_sensor_rows(cursor, day: date, frame: pl.DataFrame, replaced: Sequence[str]) -> list[str]:
    """Add the rows of new files to the day's partition, replacing the rows of `replaced` files (corrected in
    bronze), and add them to the device registry. When a new reading's key is held by a loaded file (not one
    being replaced), nothing is written and those files are returned: the full reload decides which loads.
    The partition's unique key finds such a collision while inserting (no join of every new row beforehand)."""
    cursor.execute("CREATE TEMP TABLE sensor_append (LIKE silver.sensor_events) ON COMMIT DROP")
    copy_frame(cursor, frame.with_columns(partition_date=pl.lit(day)), "sensor_append", SENSOR_COLUMNS)
    cursor.execute("SAVEPOINT before_append")
    if replaced:
        cursor.execute("DELETE FROM silver.sensor_events WHERE partition_date = %s AND source_file = ANY(%s)",
                       (day, list(replaced)))
    columns = sql.SQL(", ").join(map(sql.Identifier, SENSOR_COLUMNS))
    try:
        cursor.execute(sql.SQL("INSERT INTO silver.sensor_events ({}) SELECT {} FROM sensor_append").format(
            columns, columns))
    except psycopg2.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT before_append")
        cursor.execute("""
            SELECT DISTINCT loaded.source_file FROM sensor_append AS new
            JOIN silver.sensor_events AS loaded USING (apartment, sensor_id, field, "timestamp", partition_date)
            WHERE loaded.partition_date = %s AND loaded.source_file <> ALL(%s) LIMIT 20""", (day, list(replaced)))
        colliding = [row[0] for row in cursor.fetchall()]
        if not colliding:  # keys repeated among the new files themselves, which the caller quarantines first
            raise
        cursor.execute("DROP TABLE sensor_append")
        return colliding
    cursor.execute("SELECT EXISTS (SELECT FROM silver.sensor_days WHERE partition_date = %s "
                   "AND battery_readings IS NULL)", (day,))
    if replaced or cursor.fetchone()[0]:  # rows taken away, or a registry day from before battery_readings
        cursor.execute("SELECT silver.refresh_sensor_days(%s)", (day,))
    else:
        cursor.execute(ADD_TO_SENSOR_DAYS)
    cursor.execute("DROP TABLE sensor_append")
    return []


# The registry's rows of a day plus the appended readings (their minutes are new: the keys did not collide).
ADD_TO_SENSOR_DAYS = """
    INSERT INTO silver.sensor_days AS day (apartment, room, sensor_type, sensor_id, partition_date, readings, minutes,
                                           has_battery, has_counter, battery_min, battery_avg, battery_readings)
    SELECT apartment, room, sensor_type, sensor_id, partition_date, count(*), count(DISTINCT "timestamp"),
           bool_or(field = 'battery'), bool_or(field = 'total'), min(value) FILTER (WHERE field = 'battery'),
           avg(value) FILTER (WHERE field = 'battery'), count(*) FILTER (WHERE field = 'battery')
    FROM sensor_append GROUP BY partition_date, apartment, sensor_id, room, sensor_type
    ON CONFLICT (partition_date, apartment, sensor_id, room, sensor_type) DO UPDATE SET
        readings = day.readings + EXCLUDED.readings,
        minutes = day.minutes + EXCLUDED.minutes,
        has_battery = day.has_battery OR EXCLUDED.has_battery,
        has_counter = day.has_counter OR EXCLUDED.has_counter,
        battery_min = least(day.battery_min, EXCLUDED.battery_min),
        battery_avg = (coalesce(day.battery_avg * day.battery_readings, 0)
                       + coalesce(EXCLUDED.battery_avg * EXCLUDED.battery_readings, 0))
                      / nullif(day.battery_readings + EXCLUDED.battery_readings, 0),
        battery_readings = day.battery_readings + EXCLUDED.battery_readings"""


Folders = set[tuple[str, str]] | None
"""Some hour folders of a day's sensor files, as (apartment, file name prefix `DD.MM.YYYY HH`); None: all."""


def _files_of(cursor, table: str, columns: str, source: str, day: date, folders: Folders,
              unplaced: bool = False) -> list[tuple]:
    """`columns` (constant SQL) of the rows of silver.`table` for one partition, or for the files of its
    `folders` (the ledger's folder index serves that condition), with `unplaced` also the rows of no apartment
    (badly named files, kept under _rejected/)."""
    condition: sql.Composable = sql.SQL("TRUE")
    parameters: tuple[list[str], ...] = ()
    if folders is not None:
        apartments, prefixes = (list(column) for column in zip(*folders)) if folders else ([], [])
        condition = sql.SQL("(apartment, left(file, 13)) IN (SELECT * FROM unnest(%s::text[], %s::text[]))")
        if unplaced:
            condition = sql.SQL("(apartment IS NULL OR {})").format(condition)
        parameters = (apartments, prefixes)
    cursor.execute(sql.SQL("SELECT {} FROM {} WHERE source = %s AND partition_date = %s AND {}").format(
        sql.SQL(columns), sql.Identifier("silver", table), condition), (source, day, *parameters))
    return cursor.fetchall()


def recorded_checksums(cursor, source: str, day: date, folders: Folders = None
                       ) -> tuple[dict[str, str], dict[str, str]]:
    """Files of a partition already decided, as file -> checksum of that version: (loaded, quarantined); the
    loaded ones of `folders` only, when given."""
    loaded = _files_of(cursor, "file_ledger", "file, checksum", source, day, folders)
    quarantined = _files_of(cursor, "rejected_files", "file, coalesce(checksum, '')", source, day, None)
    return dict(loaded), dict(quarantined)


def quarantined_folders(cursor, day: date) -> set[tuple[str, str]]:
    """The hour folders (as in `Folders`) holding quarantined sensor files of the day."""
    cursor.execute("SELECT DISTINCT apartment, left(file, 13) FROM silver.rejected_files "
                   "WHERE source = 'sensor' AND partition_date = %s AND apartment IS NOT NULL", (day,))
    return set(cursor.fetchall())


def was_loaded(cursor, source: str, day: date) -> bool:
    """True when a load of the partition decided at least one file (loaded or quarantined)."""
    cursor.execute("SELECT EXISTS (SELECT FROM silver.file_ledger WHERE source = %(s)s AND partition_date = %(d)s) "
                   "OR EXISTS (SELECT FROM silver.rejected_files WHERE source = %(s)s AND partition_date = %(d)s)",
                   {"s": source, "d": day})
    return cursor.fetchone()[0]


def record_reaching_back(cursor, day: date, reason: str) -> None:
    """Record, in the load's transaction, that the readings it adds to `day` change the gold of the day before."""
    cursor.execute("INSERT INTO silver.readings_reaching_back (partition_date, reason) VALUES (%s, %s)", (day, reason))


def record_gold_changes(cursor, day: date, rebuild_from: datetime | None, reaches_back: bool) -> None:
    """Record, in the load's transaction, the gold days the readings it writes to `day` change: `day` from the UTC
    minute `rebuild_from` on (None: whole), the day after whole, and the day before whole when they reach back."""
    changes = [(day, rebuild_from), (day + timedelta(days=1), None)] + (
        [(day - timedelta(days=1), None)] if reaches_back else [])
    execute_values(cursor, "INSERT INTO silver.gold_day_changes (gold_day, rebuild_from) VALUES %s", changes)


@dataclass(frozen=True)
class GoldDayChanges:
    """The changes recorded for some gold days, as a run of some of their minute facts reads them before it builds."""

    rebuild_from: datetime | None  # the earliest minute the facts' changes since their last build touch
    last_id: int  # the newest change recorded for the days (0: none)


def gold_day_changes(cursor, days: Sequence[date], facts: Sequence[str]) -> GoldDayChanges:
    """The changes recorded for the gold `days`, for a run of their minute `facts`: from which minute it rebuilds
    them (one day, each fact built before, every change since the build of any of them from a minute on) or None
    (the days whole: several days, a fact never built, nothing changed since, or a change of a whole day)."""
    cursor.execute("SELECT coalesce(max(id), 0) FROM silver.gold_day_changes WHERE gold_day = ANY(%s)", (list(days),))
    [(last_id,)] = cursor.fetchall()
    if len(days) != 1 or not facts:
        return GoldDayChanges(None, last_id)
    cursor.execute("SELECT min(last_change_id), count(*) FROM silver.gold_day_builds WHERE gold_day = %s "
                   "AND model = ANY(%s)", (days[0], list(facts)))
    [(built_with, built)] = cursor.fetchall()
    if built < len(facts):
        return GoldDayChanges(None, last_id)
    cursor.execute("""SELECT min(rebuild_from), bool_and(rebuild_from IS NOT NULL) FROM silver.gold_day_changes
                      WHERE gold_day = %s AND id > %s AND id <= %s""", (days[0], built_with, last_id))
    [(earliest, all_from_a_minute)] = cursor.fetchall()
    return GoldDayChanges(earliest if all_from_a_minute else None, last_id)


def record_gold_day_builds(warehouse: PostgresResource, days: Sequence[date], facts: Sequence[str],
                           changes: GoldDayChanges, every_fact: Sequence[str]) -> None:
    """Record, once a run has built the minute `facts` of `days`, the newest change they were built with, and forget
    the changes every one of `every_fact` was built with (those recorded since stay for the next runs)."""
    if not facts:
        return
    with warehouse.connect() as connection, connection.cursor() as cursor:
        execute_values(cursor, """INSERT INTO silver.gold_day_builds (gold_day, model, last_change_id) VALUES %s
                                  ON CONFLICT (gold_day, model) DO UPDATE SET last_change_id = EXCLUDED.last_change_id""",
                       [(day, fact, changes.last_id) for day in days for fact in facts])
        cursor.execute("""DELETE FROM silver.gold_day_changes AS changes
                          WHERE changes.gold_day = ANY(%s) AND changes.id <= (
                              SELECT min(builds.last_change_id) FROM silver.gold_day_builds AS builds
                              WHERE builds.gold_day = changes.gold_day AND builds.model = ANY(%s)
                              HAVING count(*) = %s)""", (list(days), list(every_fact), len(every_fact)))


def forget_gold_day_builds(warehouse: PostgresResource, days: Sequence[date], facts: Sequence[str]) -> None:
    """Forget the builds of the minute `facts` of `days` after a run of them failed (a check may have failed on
    minutes that a successor rebuilding from a later minute would not check): their next run rebuilds and checks
    the days whole."""
    if not facts:
        return
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM silver.gold_day_builds WHERE gold_day = ANY(%s) AND model = ANY(%s)",
                       (list(days), list(facts)))


@contextmanager
def take_reaching_back(warehouse: PostgresResource) -> Iterator[dict[date, list[str]]]:
    """The recorded days whose readings reach back, with their reasons, not yet told to Dagster (any run's); they
    are forgotten once the caller has told them, when the block ends without error."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, partition_date, reason FROM silver.readings_reaching_back ORDER BY id")
        rows = cursor.fetchall()
        recorded: dict[date, list[str]] = {}
        for _, day, reason in rows:
            recorded.setdefault(day, []).append(reason)
        yield recorded
        cursor.execute("DELETE FROM silver.readings_reaching_back WHERE id = ANY(%s)", ([row[0] for row in rows],))


def last_listing(cursor, day: date) -> float | None:
    """When bronze was listed for the day's last committed sensor load (None: never recorded)."""
    cursor.execute("SELECT listed_at FROM silver.sensor_day_listings WHERE partition_date = %s", (day,))
    row = cursor.fetchone()
    return row[0] if row else None


def record_listing(cursor, day: date, listed_at: float) -> None:
    cursor.execute("""INSERT INTO silver.sensor_day_listings (partition_date, listed_at) VALUES (%s, %s)
                      ON CONFLICT (partition_date) DO UPDATE SET listed_at = EXCLUDED.listed_at""", (day, listed_at))


def ledger_apartments(cursor, source: str, day: date) -> list[tuple[str, str]]:
    """(file, apartment) of the day's ledger."""
    cursor.execute("SELECT file, apartment FROM silver.file_ledger WHERE source = %s AND partition_date = %s",
                   (source, day))
    return cursor.fetchall()


def ledger_folders(cursor, day: date) -> set[tuple[str, str]]:
    """The hour folders (as in `Folders`) that the ledger holds loaded sensor files of."""
    cursor.execute("SELECT DISTINCT apartment, left(file, 13) FROM silver.file_ledger "
                   "WHERE source = 'sensor' AND partition_date = %s", (day,))
    return set(cursor.fetchall())


# How long a gold run's snapshot waits for silver's writers of the days it reads (an append holds a day for
# seconds, a backfill's reload of a day for its swap).
SNAPSHOT_WAIT_SECONDS = 600


def lock_table(cursor, table: str) -> None:
    """Serialise writers of one silver table until the transaction ends (two runs never interleave)."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))


def lock_day(cursor, table: str, day: date) -> None:
    """Serialise writers of one day of a silver table until the transaction ends; other days go on."""
    day_lock(cursor, "pg_advisory_xact_lock", table, day)


def day_lock(cursor, function: str, table: str, day: date) -> None:
    """Take one day's advisory lock of a silver table with `function` (exclusive or shared, until the transaction
    ends): the one key of a day's lock."""
    cursor.execute(sql.SQL("SELECT {}(hashtext(%s), %s)").format(sql.Identifier(function)), (table, day.toordinal()))


@contextmanager
def between_writes(warehouse: PostgresResource, table: str, days: Sequence[date],
                   wait_seconds: int = SNAPSHOT_WAIT_SECONDS) -> Iterator[Any]:
    """A transaction (its cursor) in which no writer of these days of a silver table is in progress: it waits for
    those writing now (their `lock_day`), and writers coming after it wait for it to end. A snapshot taken in it
    (`current_snapshot`) sees every row of those days exactly when its transaction had committed; rows written
    under a savepoint carry a subtransaction id that `pg_visible_in_snapshot` cannot judge while its transaction
    runs. A writer holding a day longer than `wait_seconds` fails the wait, naming the day."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", (f"{wait_seconds}s",))
        for day in sorted(days):  # writers hold one day's lock at a time: no wait can close a cycle
            try:
                day_lock(cursor, "pg_advisory_xact_lock_shared", table, day)
            except psycopg2.errors.LockNotAvailable as error:
                raise TimeoutError(f"the snapshot of {table} waited {wait_seconds} s for a writer of {day} to "
                                   f"finish: a run writing that day holds its lock (pg_locks, locktype advisory)") \
                    from error
        yield cursor


def current_snapshot(cursor) -> str:
    """The transaction's snapshot (`pg_current_snapshot()`), as text."""
    cursor.execute("SELECT pg_current_snapshot()::text")
    [(snapshot,)] = cursor.fetchall()
    return snapshot


@contextmanager
def bronze_readers(warehouse: PostgresResource, exclusive: bool = False) -> Iterator[None]:
    """Held for a whole step, on a session of its own: the runs of silver.sensor_events hold it shared, so a live
    append and a backfill run side by side (their writes serialised per day, `lock_day`); an erasure or a
    retention holds it exclusively, so no run reads bronze or writes silver meanwhile. A session-level advisory
    lock: a run that dies releases it with its connection."""
    with warehouse.connect() as connection:
        connection.autocommit = True  # no transaction left open for the step's duration
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT {}(hashtext(%s))").format(sql.Identifier(
                "pg_advisory_lock" if exclusive else "pg_advisory_lock_shared")), (BRONZE_READERS,))
        yield


def ledger_of_day(cursor, source: str, day: date, folders: Folders = None) -> dict[str, int]:
    """The ledger of record: file -> rows loaded, for one partition (or some of its folders)."""
    return dict(_files_of(cursor, "file_ledger", "file, rows", source, day, folders))


def removed_by_retention(cursor, source: str, day: date) -> set[str]:
    """Files of the partition that retention removed from bronze after they were loaded."""
    cursor.execute("SELECT file FROM silver.bronze_removed WHERE source = %s AND partition_date = %s", (source, day))
    return {row[0] for row in cursor.fetchall()}


def ledger_rows_of_files(cursor, source: str, files: Sequence[str]) -> pl.DataFrame:
    """The ledger rows of some files, as `ledger_frame` would build them."""
    cursor.execute("SELECT file, apartment, partition_date, rows, checksum FROM silver.file_ledger "
                   "WHERE source = %s AND file = ANY(%s)", (source, list(files)))
    return ledger_frame(cursor.fetchall())


def sensor_rows_of_files(cursor, day: date, files: Sequence[str]) -> pl.DataFrame:
    """The silver readings of some files of a day (to keep them when their bronze files are gone)."""
    columns = [c for c in SENSOR_COLUMNS if c != "partition_date"]
    cursor.execute(sql.SQL("SELECT {} FROM silver.sensor_events WHERE partition_date = %s AND source_file = ANY(%s)")
                   .format(sql.SQL(", ").join(map(sql.Identifier, columns))), (day, list(files)))
    return pl.DataFrame(cursor.fetchall(), schema={c: READING_SCHEMA[c] for c in columns}, orient="row")


def unaccounted_files(cursor, source: str, day: date, bronze: set[str], kept: Set[str] = frozenset(),
                      folders: Folders = None) -> list[str]:
    """What does not add up for one partition (or the `folders` of it that `bronze` lists): bronze files
    neither loaded nor quarantined, and ledger files that are neither in bronze nor deliberately kept (rows of
    record without their file)."""
    ledger = {row[0] for row in _files_of(cursor, "file_ledger", "file", source, day, folders)}
    quarantined = {row[0] for row in _files_of(cursor, "rejected_files", "file", source, day, folders, unplaced=True)}
    problems = [f"{day}: {name} is in bronze but neither loaded nor quarantined"
                for name in sorted(bronze - ledger - quarantined)]
    problems += [f"{day}: {name} is in the ledger but not in bronze" for name in sorted(ledger - bronze - kept)]
    return problems


def ledger_rows_against_silver(cursor, days: Sequence[date], appended: Sequence[date] = ()) -> list[str]:
    """Days where the ledger's row total differs from the rows in silver.sensor_events. For `appended` days the
    rows are counted in the device registry, which the append updated from exactly the rows it inserted (a
    count of the whole day would cost what the day costs, not what the append did)."""
    cursor.execute("""
        SELECT d::date, coalesce((SELECT sum(rows) FROM silver.file_ledger
                                  WHERE source = 'sensor' AND partition_date = d::date), 0),
               CASE WHEN d::date = ANY(%s)
                    THEN (SELECT coalesce(sum(readings), 0) FROM silver.sensor_days WHERE partition_date = d::date)
                    ELSE (SELECT count(*) FROM silver.sensor_events WHERE partition_date = d::date) END
        FROM unnest(%s::date[]) AS d""", (list(appended), list(days)))
    return [f"{day}: ledger {ledger} rows, silver {silver} rows" for day, ledger, silver in cursor.fetchall()
            if ledger != silver]


def days_without_unique_key(cursor, days: Sequence[date]) -> list[str]:
    """Days whose partition lacks a valid unique index on the reading key (apartment, sensor_id, field,
    timestamp): only such a day could hold a reading twice. Every partition gets one when it is written (and
    the partitioned table's unique key requires it), so the check costs a catalogue lookup, not a scan."""
    cursor.execute("""
        SELECT d::date FROM unnest(%s::date[]) AS d
        WHERE to_regclass('silver.sensor_events_' || to_char(d, 'YYYYMMDD')) IS NOT NULL AND NOT EXISTS (
            SELECT FROM pg_index AS i
            WHERE i.indrelid = to_regclass('silver.sensor_events_' || to_char(d, 'YYYYMMDD'))
              AND i.indisunique AND i.indisvalid
              AND string_to_array(i.indkey::text, ' ')::int2[] = (
                  SELECT array_agg(a.attnum ORDER BY k.position)
                  FROM unnest(ARRAY['apartment', 'sensor_id', 'field', 'timestamp', 'partition_date'])
                       WITH ORDINALITY AS k(name, position)
                  JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attname = k.name))""", (list(days),))
    return [f"{day}: its partition has no unique index on the reading key" for (day,) in cursor.fetchall()]


def replace_weather_day(cursor, day: date, frame: pl.DataFrame) -> None:
    """Replace the forecasts issued on `day` (delete + COPY in the caller's transaction)."""
    lock_table(cursor, "silver.weather_forecasts")
    cursor.execute("DELETE FROM silver.weather_forecasts WHERE prediction_date = %s", (day,))
    if frame.height:
        copy_frame(cursor, frame, "silver.weather_forecasts")


def duplicate_weather_keys(cursor, days: Sequence[date]) -> list[str]:
    cursor.execute("""
        SELECT "timestamp", site, prediction, prediction_date, measurement, count(*) FROM silver.weather_forecasts
        WHERE prediction_date = ANY(%s)
        GROUP BY "timestamp", site, prediction, prediction_date, measurement HAVING count(*) > 1 LIMIT 20""",
                   (list(days),))
    return [" ".join(map(str, row)) for row in cursor.fetchall()]


def postgres_type(column_type: sa.types.TypeEngine) -> tuple[str, pl.DataType | type[pl.DataType]]:
    """The silver column type for a reflected MySQL type (text when unknown)."""
    if isinstance(column_type, sa.Integer):
        return "bigint", pl.Int64
    if isinstance(column_type, (sa.Float, sa.Numeric)):
        return "double precision", pl.Float64
    if isinstance(column_type, sa.DateTime):
        return "timestamp without time zone", pl.Datetime("us")
    if isinstance(column_type, sa.Date):
        return "date", pl.Date
    return "text", pl.String


def replace_reference_table(cursor, target: str, columns: list[tuple[str, str]], frame: pl.DataFrame) -> None:
    """Replace the rows of silver.<target> (in the caller's transaction). The table is emptied, not dropped, so
    the gold views on it keep working; it is recreated only when the source's columns changed, which fails
    with the names of the views to drop first if gold depends on it."""
    table = sql.Identifier("silver", target)
    cursor.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                   "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                   (f"silver.{target}",))
    existing = [tuple(row) for row in cursor.fetchall()]
    if existing == [tuple(column) for column in columns]:
        cursor.execute(sql.SQL("TRUNCATE {}").format(table))
    else:
        if existing:
            refuse_if_views_depend(cursor, target)
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        definition = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                                        for name, kind in columns)
        cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(table, definition))
    if frame.height:
        copy_frame(cursor, frame, f"silver.{target}")


def refuse_if_views_depend(cursor, target: str) -> None:
    """Raise when views depend on silver.<target>, whose columns changed at the source."""
    cursor.execute("""
        SELECT DISTINCT view.oid::regclass::text FROM pg_depend d
        JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class view ON view.oid = r.ev_class
        WHERE d.refobjid = to_regclass(%s) AND view.oid <> d.refobjid ORDER BY 1""", (f"silver.{target}",))
    views = [row[0] for row in cursor.fetchall()]
    if views:
        raise RuntimeError(f"silver.{target}: its columns changed at the source and {', '.join(views)} depend on "
                           "it; drop those views, materialise the reference tables, then rebuild gold")
