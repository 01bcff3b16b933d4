"""`silver_weather_forecasts`: the forecast CSVs cleaned into long form, or quarantined with the reason."""

import hashlib
import time
from collections import Counter
from datetime import date, datetime, timedelta
from typing import cast

import dagster as dg
import polars as pl

from domotic_assets.bronze.assets import bronze_weather_files
from domotic_assets.silver import store
from domotic_assets.silver.metadata import (
    FILES_ACCOUNTED_FOR,
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
from domotic_assets.timing import daily_partitions
from resources.bronze import BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from sensors_io.bronze_layout import weather_bronze_path
from sensors_io.filenames import weather_filename
from sensors_io.size_limits import read_within, too_large
from sensors_io.weather_clean import SCHEMA, WeatherFileError, clean_forecast

CHECKS = {
    **SHARED_CHECKS,
    "unique_forecast_key": "one row per (timestamp, site, prediction, prediction_date, measurement)",
    "no_target_beyond_horizon": "no target time later than the issue date + 3 days (8 runs x 45 h leads)",
}
HORIZON = timedelta(days=3)
def read_forecast(path, day: date, min_year: int, max_bytes: int) -> tuple[pl.DataFrame, list, list, Counter, str]:
    """(rows, ledger rows, quarantine rows, dropped rows by reason, log line) of one bronze forecast file;
    anything wrong with the file quarantines it with the reason (over `max_bytes`: unread)."""
    name = path.name
    try:
        content, size = read_within(path, max_bytes)
    except OSError as error:
        return pl.DataFrame(schema=SCHEMA), [], [(name, None, day, "unreadable", str(error), None)], Counter(), \
            f"quarantined {name}: unreadable ({error})"
    if content is None:
        detail = too_large(size, max_bytes, "WEATHER_FILE_MAX_BYTES")
        return pl.DataFrame(schema=SCHEMA), [], [(name, None, day, "too_large", detail, None)], Counter(), \
            f"quarantined {name}: too_large ({detail})"
    checksum = hashlib.sha1(content).hexdigest()
    try:
        frame, dropped, encoding = clean_forecast(content, day, min_year, name)
    except WeatherFileError as error:
        return pl.DataFrame(schema=SCHEMA), [], [(name, None, day, error.reason, error.detail, checksum)], \
            Counter(), f"quarantined {name}: {error}"
    return frame, [(name, None, day, frame.height, checksum)], [], Counter(dropped), \
        f"{name}: {frame.height} rows ({encoding}), dropped {dict(dropped)}"


@dg.asset(partitions_def=daily_partitions, deps=[bronze_weather_files], group_name="silver",
          kinds={"polars", "postgres"}, backfill_policy=dg.BackfillPolicy.single_run(),
          pool="silver_weather_forecasts", retry_policy=SILVER_RETRY_POLICY,
          metadata=table_metadata("silver.weather_forecasts", store.WEATHER_FORECAST_COLUMNS),
          check_specs=check_specs("silver_weather_forecasts", CHECKS, blocking={FILES_ACCOUNTED_FOR}))
def silver_weather_forecasts(context: dg.AssetExecutionContext, config: SilverLoadConfig, warehouse: PostgresResource,
                             bronze: BronzeResource, rules: CleaningRulesResource) -> dg.MaterializeResult:
    """Weather forecasts in long form (silver.weather_forecasts): target time (UTC), site, lead hours,
    issue date, measurement, value. Grain: one row per target time, site, lead, issue date and measurement."""
    started = time.monotonic()
    require_bronze_root(bronze.path)
    days = [date.fromisoformat(key) for key in context.partition_keys]
    dropped: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    in_bronze: dict[date, set[str]] = {}
    kept: dict[date, set[str]] = {}
    failures: dict[str, list[str]] = {name: [] for name in CHECKS}
    first = None
    with warehouse.connect() as connection, connection.cursor() as cursor:
        store.ensure_schema(cursor)
    for day in days:
        path = weather_bronze_path(bronze.path, day, weather_filename(day))
        in_bronze[day] = {path.name} if path.exists() else set()
        with warehouse.connect() as connection, connection.cursor() as cursor:
            store.lock_table(cursor, "silver.weather_forecasts")
            missing = missing_from_bronze(cursor, "weather", day, in_bronze[day], config.keep_missing_files)
            if missing:  # keep the day as loaded: nothing in bronze to reload it from
                kept[day] = set(missing)
                why = ("removed by retention" if set(missing) <= store.removed_by_retention(cursor, "weather", day)
                       else "gone from bronze")
                context.log.warning(f"{day}: {', '.join(missing)} {why}; its rows are kept")
                continue
            frame, loaded, rejected, file_dropped, line = (
                read_forecast(path, day, rules.weather_min_year, rules.weather_file_max_bytes) if in_bronze[day]
                else (pl.DataFrame(schema=SCHEMA), [], [], Counter(), f"{day}: no forecast file in bronze"))
            (context.log.warning if rejected else context.log.info)(line)
            store.replace_weather_day(cursor, day, frame)
            store.record_outcomes(cursor, "weather", [day], store.ledger_frame(loaded),
                                  store.quarantine_frame(rejected))
        dropped.update(file_dropped)
        stats["rows"] += frame.height
        stats["outliers"] += int(frame["is_outlier"].sum())
        stats["loaded"] += len(loaded)
        stats["quarantined"] += len(rejected)
        first = frame if first is None and frame.height else first
        if frame.height:
            last_target = cast(datetime, frame["timestamp"].max())
            if last_target.date() > day + HORIZON:
                failures["no_target_beyond_horizon"].append(f"{path.name}: target {last_target}")
    with warehouse.connect() as connection, connection.cursor() as cursor:
        for day in days:
            failures[FILES_ACCOUNTED_FOR] += store.unaccounted_files(cursor, "weather", day, in_bronze[day],
                                                                     kept.get(day, set()))
        failures["unique_forecast_key"] = store.duplicate_weather_keys(cursor, days)
    failures[OUTLIER_SHARE] = outlier_share_failures(stats["outliers"], stats["rows"])
    seconds = time.monotonic() - started
    return dg.MaterializeResult(
        metadata={
            "files_read": sum(len(files) for files in in_bronze.values()),
            "files_missing_from_bronze_kept": sum(len(files) for files in kept.values()),
            "files_loaded": stats["loaded"],
            "files_quarantined": stats["quarantined"],
            "dagster/row_count": stats["rows"],
            "rows_dropped": dict(dropped),
            "outliers": stats["outliers"],
            "seconds": round(seconds, 2),
            "rows_per_second": round(stats["rows"] / seconds) if seconds else 0,
            "preview": preview(first),
        },
        check_results=check_results(failures, warn_only={OUTLIER_SHARE}),
    )
