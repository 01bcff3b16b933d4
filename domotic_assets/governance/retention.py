"""Retention: bronze files older than BRONZE_RETENTION_DAYS are removed once silver has loaded them, and old
backtest predictions are dropped. Silver keeps every row: a reload of an old day keeps the rows of the files
retention removed (silver.bronze_removed)."""

import hashlib
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from pydantic import Field

from domotic_assets.silver.store import bronze_readers
from domotic_assets.timing import TIMEZONE
from domotic_config.variables import integer
from resources.bronze import BronzeResource
from resources.postgres import PostgresResource
from sensors_io.bronze_layout import REJECTED_FOLDER, WEATHER_FOLDER, remove_from_bronze

NOT_IN_LEDGER = "not loaded (not in the ledger: unloaded, quarantined or an earlier version)"
CHANGED = "changed since it was loaded"


class RetentionConfig(dg.Config):
    dry_run: bool = Field(default=False, description="report what would be removed, remove nothing")


def old_bronze_files(root: Path, before: date) -> list[tuple[Path, str, date]]:
    """(path, source, local day) of the bronze files of days before `before`; `_rejected/` is never touched."""
    found = []
    for top in sorted(p for p in root.iterdir() if p.is_dir() and p.name != REJECTED_FOLDER) if root.is_dir() else []:
        for folder in sorted(top.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]")):
            day = date(int(folder.parent.parent.name), int(folder.parent.name), int(folder.name))
            if day < before:
                source = "weather" if top.name == WEATHER_FOLDER else "sensor"
                found += [(path, source, day) for path in sorted(folder.rglob("*"))
                          if path.is_file() and not path.name.startswith(".")]
    return found


def loaded_files(cursor, candidates: list[tuple[Path, str, date]]) -> tuple[list[tuple], Counter]:
    """The candidates silver loaded in exactly their present version (ledger checksum), and why others stay."""
    cursor.execute("SELECT file, source, apartment, checksum FROM silver.file_ledger WHERE file = ANY(%s)",
                   ([path.name for path, _, _ in candidates],))
    ledger = {(file, source): (apartment, checksum) for file, source, apartment, checksum in cursor.fetchall()}
    removable = []
    kept: Counter[str] = Counter()
    for path, source, day in candidates:
        entry = ledger.get((path.name, source))
        if entry is None:
            kept[NOT_IN_LEDGER] += 1
        elif hashlib.sha1(path.read_bytes()).hexdigest() != entry[1]:
            kept[CHANGED] += 1
        else:
            removable.append((path, source, entry[0], day))
    return removable, kept


def drop_old_backtests(cursor, days: int, dry_run: bool) -> int:
    """Backtest rows of gold.fact_prediction written more than `days` ago: counted, or deleted."""
    cursor.execute("SELECT to_regclass('gold.fact_prediction') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return 0
    where = "kind = 'backtest' AND written_at < now() - make_interval(days => %s)"
    if dry_run:
        cursor.execute(f"SELECT count(*) FROM gold.fact_prediction WHERE {where}", (days,))
        return cursor.fetchone()[0]
    cursor.execute(f"DELETE FROM gold.fact_prediction WHERE {where}", (days,))
    return cursor.rowcount


@dg.op
def apply_retention(context: dg.OpExecutionContext, config: RetentionConfig, warehouse: PostgresResource,
                    bronze: BronzeResource) -> dict:
    """Remove loaded bronze files of days older than BRONZE_RETENTION_DAYS (never an unloaded, quarantined or
    changed file; empty folders go too) and backtest predictions older than BACKTEST_RETENTION_DAYS."""
    with bronze_readers(warehouse, exclusive=not config.dry_run):  # never beside a silver run (a dry run may be)
        return retain(context, config, warehouse, bronze)


def retain(context: dg.OpExecutionContext, config: RetentionConfig, warehouse: PostgresResource,
           bronze: BronzeResource) -> dict:
    """The body of `apply_retention`."""
    keep_days, backtest_days = integer("BRONZE_RETENTION_DAYS"), integer("BACKTEST_RETENTION_DAYS")
    before = datetime.now(ZoneInfo(TIMEZONE)).date() - timedelta(days=keep_days)
    candidates = old_bronze_files(bronze.path, before)
    with warehouse.connect() as connection, connection.cursor() as cursor:
        removable, kept = loaded_files(cursor, candidates)
        size = sum(path.stat().st_size for path, *_ in removable)
        old_predictions = drop_old_backtests(cursor, backtest_days, config.dry_run)
        if not config.dry_run:
            cursor.executemany("INSERT INTO silver.bronze_removed (file, source, apartment, partition_date, bytes) "
                               "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (file) DO NOTHING",
                               [(p.name, source, apartment, day, p.stat().st_size)
                                for p, source, apartment, day in removable])
    # recorded (committed) first: a file recorded but still present is simply loaded again with its day
    freed = size if config.dry_run else remove_from_bronze(bronze.path, [path for path, *_ in removable])
    verb = "would remove" if config.dry_run else "removed"
    context.log.info(f"days before {before}: {len(candidates)} bronze files, {verb} {len(removable)} "
                     f"({freed} bytes); kept {dict(kept)}; {verb} {old_predictions} backtest predictions")
    summary = {"dry_run": config.dry_run, "before_day": str(before), "files_examined": len(candidates),
               "files_removed": len(removable), "bytes_freed": freed, "backtest_predictions_removed": old_predictions,
               **{f"kept: {reason}": count for reason, count in kept.items()}}
    context.add_output_metadata(summary)
    return summary


@dg.job(tags={"domotic/kind": "retention"})
def bronze_retention_job():
    """Remove loaded bronze files older than BRONZE_RETENTION_DAYS and old backtest predictions (dry_run to preview)."""
    apply_retention()


bronze_retention_schedule = dg.ScheduleDefinition(
    name="bronze_retention_schedule", job=bronze_retention_job, cron_schedule="15 2 * * *",
    execution_timezone=TIMEZONE, default_status=dg.DefaultScheduleStatus.STOPPED)  # the operator turns it on
