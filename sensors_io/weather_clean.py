"""Cleaning contract for a forecast CSV (docs/sources.md#weather-cleaning) → rows of silver.weather_forecasts.

Every dropped row is counted by reason. A file without the six columns, or whose rows are mostly unreadable
(a changed `Time` format, say), raises `WeatherFileError` (quarantined by the caller); an empty file gives
zero rows.
"""

from __future__ import annotations

import io
from datetime import date

import polars as pl

from sensors_io.outliers import WEATHER_BOUNDS

REQUIRED_COLUMNS = ("Time", "Value", "Prediction", "Site", "Measurement", "Unit")
SENTINEL = -99999.0
# Rows dropped because they cannot be read (not by a cleaning rule); a file losing most of its rows this way
# is quarantined rather than loaded nearly empty.
UNREADABLE_ROW_REASONS = ("bad_time", "bad_value", "bad_prediction", "no_site")
UNREADABLE_SHARE_LIMIT = 0.5
# Longest site name kept (real ones are under 30 characters): the site is in the day's unique index, and a name
# beyond PostgreSQL's index-row limit (2,704 bytes) would fail the whole day.
MAX_SITE_CHARS = 100
KEY = ["timestamp", "site", "prediction", "prediction_date", "measurement"]
SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "timestamp": pl.Datetime("us", "UTC"), "site": pl.String, "prediction": pl.Int16,
    "prediction_date": pl.Date, "measurement": pl.String, "value": pl.Float64, "unit": pl.String,
    "is_outlier": pl.Boolean, "source_file": pl.String}


class WeatherFileError(ValueError):
    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def decode(content: bytes) -> tuple[str, str]:
    """UTF-8 (BOM tolerated) when valid, else Latin-1 — site names are decoded, never mangled."""
    try:
        return content.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return content.decode("latin-1"), "latin-1"


def clean_forecast(content: bytes, prediction_date: date, min_year: int, source_file: str
                   ) -> tuple[pl.DataFrame, dict[str, int], str]:
    """(rows, dropped rows per reason, encoding) of one forecast file."""
    if not content.strip():
        return pl.DataFrame(schema=SCHEMA), {}, "empty"
    text, encoding = decode(content)
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError as error:
        raise WeatherFileError("unreadable_csv", str(error).splitlines()[0]) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise WeatherFileError("missing_columns", f"missing {', '.join(missing)}; header is {raw.columns}")
    dropped: dict[str, int] = {}
    frame = raw.select(
        timestamp=pl.col("Time").str.strip_chars().str.to_datetime("%Y-%m-%d %H:%M:%S%z", strict=False,
                                                                    time_zone="UTC"),
        site=pl.col("Site").str.replace_all('"', "", literal=True).str.strip_chars(),
        prediction=pl.col("Prediction").str.strip_chars().cast(pl.Int16, strict=False),
        measurement=pl.col("Measurement").str.strip_chars(),
        value=pl.col("Value").str.strip_chars().cast(pl.Float64, strict=False),
        unit=pl.col("Unit").str.strip_chars(),
    )

    def keep(reason: str, condition: pl.Expr) -> None:
        nonlocal frame
        before = frame.height
        frame = frame.filter(condition)
        if before - frame.height:
            dropped[reason] = before - frame.height

    keep("bad_time", pl.col("timestamp").is_not_null())
    keep("before_min_year", pl.col("timestamp").dt.year() >= min_year)
    keep("other_measurement", pl.col("measurement").is_in(list(WEATHER_BOUNDS)))
    keep("bad_value", pl.col("value").is_not_null() & pl.col("value").is_finite())
    keep("sentinel", pl.col("value") != SENTINEL)
    keep("bad_prediction", pl.col("prediction").is_between(0, 45))
    keep("no_site", pl.col("site").str.len_chars() > 0)
    keep("site_too_long", pl.col("site").str.len_chars() <= MAX_SITE_CHARS)
    unreadable = sum(dropped.get(reason, 0) for reason in UNREADABLE_ROW_REASONS)
    if unreadable > UNREADABLE_SHARE_LIMIT * raw.height:
        raise WeatherFileError("most_rows_unreadable", f"{unreadable} of {raw.height} rows unreadable "
                               f"({ {r: dropped[r] for r in UNREADABLE_ROW_REASONS if r in dropped} }): "
                               "has the file's format changed?")
    frame = frame.with_columns(prediction_date=pl.lit(prediction_date), source_file=pl.lit(source_file))
    before = frame.height
    frame = frame.unique(subset=KEY, keep="first", maintain_order=True)
    if before - frame.height:
        dropped["duplicate"] = before - frame.height
    bounds = pl.DataFrame([(code, lo, hi) for code, (lo, hi) in WEATHER_BOUNDS.items()],
                          schema={"measurement": pl.String, "lo": pl.Float64, "hi": pl.Float64}, orient="row")
    frame = frame.join(bounds, on="measurement", how="left", maintain_order="left").with_columns(
        is_outlier=~pl.col("value").is_between(pl.col("lo"), pl.col("hi")))
    return frame.select(list(SCHEMA)), dropped, encoding
