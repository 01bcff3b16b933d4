"""`silver_weather_forecasts`: the forecast CSVs cleaned into long form, or quarantined with the reason."""

import hashlib
import time
from collections import Counter
from datetime import date, timedelta

import dagster as dg
import polars as pl

from domotic_assets.bronze.assets import bronze_weather_files
from domotic_assets.partitions import daily_partitions
from domotic_assets.silver.metadata import (
    FILES_ACCOUNTED_FOR,
    OUTLIER_SHARE,
    SHARED_CHECKS,
    check_results,
    check_specs,
    outlier_share_failures,
    preview,
    table_metadata,
)
from resources import silver_tables
from resources.bronze import BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from sensors_io.bronze_layout import weather_bronze_path
from sensors_io.filenames import weather_filename
from sensors_io.weather_clean import SCHEMA, WeatherFileError, clean_forecast

CHECKS = {
    **SHARED_CHECKS,
    "unique_forecast_key": "one row per (timestamp, site, prediction, prediction_date, measurement)",
    "no_target_beyond_horizon": "no target time later than the issue date + 3 days (8 runs x 45 h leads)",
}
HORIZON = timedelta(days=3)
@dg.asset(partitions_def=daily_partitions, deps=[bronze_weather_files], group_name="silver",
          kinds={"polars", "postgres"}, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata=table_metadata("silver.weather_forecasts", silver_tables.WEATHER_FORECAST_COLUMNS),
          check_specs=check_specs("silver_weather_forecasts", CHECKS, blocking={FILES_ACCOUNTED_FOR}))
def silver_weather_forecasts(context: dg.AssetExecutionContext, warehouse: PostgresResource,
                             bronze: BronzeResource, rules: CleaningRulesResource) -> dg.MaterializeResult:
    """Weather forecasts in long form (silver.weather_forecasts): target time (UTC), site, lead hours,
    issue date, measurement, value. Grain: one row per target time, site, lead, issue date and measurement."""
    started = time.monotonic()
    days = [date.fromisoformat(key) for key in context.partition_keys]
    dropped, stats, bronze_counts = Counter(), Counter(), {}
    failures: dict[str, list[str]] = {name: [] for name in CHECKS}
    first = None
    with warehouse.connect() as connection, connection.cursor() as cursor:
        silver_tables.ensure_schema(cursor)
    for day in days:
        name = weather_filename(day)
        path = weather_bronze_path(bronze.path, day, name)
        bronze_counts[day.isoformat()] = int(path.exists())
        frame, loaded, rejected = pl.DataFrame(schema=SCHEMA), [], []
        if path.exists():
            content = path.read_bytes()
            checksum = hashlib.sha1(content).hexdigest()
            try:
                frame, file_dropped, encoding = clean_forecast(content, day, rules.weather_min_year, name)
                loaded = [(name, None, day, frame.height, checksum)]
                dropped.update(file_dropped)
                context.log.info(f"{name}: {frame.height} rows ({encoding}), dropped {dict(file_dropped)}")
            except WeatherFileError as error:
                rejected = [(name, None, day, error.reason, error.detail, checksum)]
                context.log.warning(f"quarantined {name}: {error}")
        with warehouse.connect() as connection, connection.cursor() as cursor:
            silver_tables.replace_weather_day(cursor, day, frame)
            silver_tables.record_outcomes(cursor, "weather", [day], silver_tables.ledger_frame(loaded),
                                          silver_tables.quarantine_frame(rejected))
        stats["rows"] += frame.height
        stats["outliers"] += int(frame["is_outlier"].sum())
        stats["loaded"] += len(loaded)
        stats["quarantined"] += len(rejected)
        first = frame if first is None and frame.height else first
        if frame.height and frame["timestamp"].max().date() > day + HORIZON:
            failures["no_target_beyond_horizon"].append(f"{name}: target {frame['timestamp'].max()}")
    with warehouse.connect() as connection, connection.cursor() as cursor:
        unaccounted = silver_tables.unaccounted_files(cursor, "weather", bronze_counts)
        failures["unique_forecast_key"] = silver_tables.duplicate_weather_keys(cursor, days)
    failures[FILES_ACCOUNTED_FOR] = unaccounted
    failures[OUTLIER_SHARE] = outlier_share_failures(stats["outliers"], stats["rows"])
    seconds = time.monotonic() - started
    return dg.MaterializeResult(
        metadata={
            "files_read": sum(bronze_counts.values()),
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
