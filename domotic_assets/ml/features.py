"""Features at 15-minute × room grain, as of an issue time (the cutoff): one code path for backtests and
production. Every row is a target window; its cutoff is the instant its forecast is issued: the local midnight
that starts its local day minus `issue_before_midnight` (production issues the day before at its forecast tick,
domotic_assets/timing.py). No feature reads a window that ends after the row's cutoff. Lags are taken on local time: the
same local slot of day one or more days before, across clock changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

WINDOW = timedelta(minutes=15)
WINDOWS_PER_DAY = 96
LAG_DAYS = (1, 2, 7, 14)
WEEK_LAG_DAYS = (7, 14, 21, 28)  # same slot, same weekday: the slot-of-week baselines
# The smoothed slot-of-week rate weighs the room's 28-day rate as this many weeks of the same slot (a prior), so
# four weeks of 0 or 1 never make a probability of exactly 0 or 1.
PRIOR_WEEKS = 2
WEATHER = ("temperature_c", "humidity_pct", "precipitation_mm", "radiation_wm2")
CATEGORICAL = ("room_key", "apartment_key")
FEATURES = (
    "slot_of_day", "weekday", "is_holiday", "lead_hours",
    *(f"lag_{days}d" for days in LAG_DAYS), "mean_7d", "mean_28d", "slot_of_week_rate", "slot_of_week_smoothed",
    "median_4w",
    "minutes_since_motion", "last_hour_co2", "last_hour_power",
    *WEATHER, "weather_lead_hours",
    *CATEGORICAL,
)


@dataclass(frozen=True)
class Grid:
    """Observations per room and window: `target` (occupied 0/1 or mean power W, null when unknown), and what
    describes the room's state (`occupied`, `power_w`, `co2_ppm`), each possibly null."""

    windows: pl.DataFrame  # room_key, apartment_key, window_start (UTC), target, occupied, power_w, co2_ppm
    weather: pl.DataFrame  # site_key, hour_utc, prediction_date, WEATHER...
    sites: pl.DataFrame  # apartment_key, site_key
    holidays: pl.DataFrame  # date, is_holiday


def complete_grid(windows: pl.DataFrame, until: date, timezone: str) -> pl.DataFrame:
    """Every 15-minute window of every room from its first window to the end of local day `until`: a missing
    window is a row with nulls, so a shift of 96 rows is exactly 24 hours."""
    end = (pl.lit(until + timedelta(days=1)).cast(pl.Datetime("us")).dt.replace_time_zone(timezone)
           .dt.convert_time_zone("UTC") - pl.duration(minutes=15))
    spans = (windows.group_by("room_key", "apartment_key").agg(pl.col("window_start").min().alias("first"))
             .with_columns(window_start=pl.datetime_ranges("first", end, interval="15m"))
             .explode("window_start").drop("first"))
    return (spans.join(windows.drop("apartment_key"), on=["room_key", "window_start"], how="left")
            .sort("room_key", "window_start"))


def build_features(grid: Grid, until: date, timezone: str, issue_before_midnight: timedelta = timedelta(0),
                   weather_fetched: timedelta = timedelta(days=1)) -> pl.DataFrame:
    """One row per room and window up to the end of `until`, with FEATURES, `target`, `local_date` and
    `cutoff` (UTC): every feature uses only windows that end at or before the row's cutoff, and only forecast
    files fetched by then (a file is fetched `weather_fetched` after the local midnight of its prediction date;
    by default at its day's end)."""
    frame = complete_grid(grid.windows, until, timezone)
    local = pl.col("window_start").dt.convert_time_zone(timezone)
    frame = frame.with_columns(
        local_date=local.dt.date(),
        slot_of_day=(local.dt.hour().cast(pl.Int16) * 4 + local.dt.minute().cast(pl.Int16) // 15),
        weekday=local.dt.weekday().cast(pl.Int16),
    ).with_columns(
        cutoff=(pl.col("local_date").cast(pl.Datetime("us")).dt.replace_time_zone(timezone)
                .dt.convert_time_zone("UTC") - pl.lit(issue_before_midnight)),
    ).with_columns(lead_hours=(pl.col("window_start") - pl.col("cutoff")).dt.total_minutes() / 60)
    week_lags = [pl.col(f"_lag_{days}d") for days in WEEK_LAG_DAYS]
    frame = _with_local_lags(frame, "target").with_columns(
        mean_7d=pl.mean_horizontal(*(f"_lag_{days}d" for days in range(1, 8))),
        mean_28d=pl.mean_horizontal(*(f"_lag_{days}d" for days in range(1, 29))),
        slot_of_week_rate=pl.mean_horizontal(*week_lags),
        median_4w=pl.concat_list(week_lags).list.drop_nulls().list.median(),
        **{f"lag_{days}d": pl.col(f"_lag_{days}d") for days in LAG_DAYS},
    ).with_columns(
        slot_of_week_smoothed=(pl.sum_horizontal(*week_lags) + PRIOR_WEEKS * pl.col("mean_28d"))
        / (pl.sum_horizontal(*(lag.is_not_null() for lag in week_lags)) + PRIOR_WEEKS),
    ).drop(pl.selectors.starts_with("_lag_"))
    frame = frame.join(_state_at_cutoff(frame), on=["room_key", "cutoff"], how="left")
    frame = _with_weather(frame, grid, timezone, weather_fetched)
    holidays = grid.holidays.select(pl.col("date").alias("local_date"), pl.col("is_holiday").cast(pl.Int8))
    frame = frame.join(holidays, on="local_date", how="left").with_columns(pl.col("is_holiday").fill_null(0))
    return frame.select("room_key", "apartment_key", "window_start", "local_date", "cutoff", "target",
                        *(name for name in FEATURES if name not in CATEGORICAL)).sort("room_key", "window_start")


def _with_local_lags(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """`_lag_{d}d` for d = 1…28: the column on the same local slot of day d days before, kept only when that
    window ended by the row's cutoff. The hour a clock change repeats counts once (the mean of its two windows),
    the hour it skips has no value."""
    slots = frame.group_by("room_key", "local_date", "slot_of_day").agg(
        _value=pl.col(column).mean(), _ended=pl.col("window_start").max() + WINDOW)
    days = (slots.group_by("room_key").agg(first=pl.col("local_date").min(), last=pl.col("local_date").max())
            .with_columns(local_date=pl.date_ranges("first", "last")).explode("local_date").drop("first", "last"))
    every_slot = pl.DataFrame({"slot_of_day": range(WINDOWS_PER_DAY)}, schema={"slot_of_day": pl.Int16})
    dense = (days.join(every_slot, how="cross").join(slots, on=["room_key", "local_date", "slot_of_day"], how="left")
             .sort("room_key", "local_date", "slot_of_day"))  # one row per local slot: a shift of 96 rows is a day
    lagged = dense.select("room_key", "local_date", "slot_of_day", *(
        pl.col(name).shift(WINDOWS_PER_DAY * days).over("room_key").alias(f"{name}_{days}")
        for days in range(1, 29) for name in ("_value", "_ended")))
    return frame.join(lagged, on=["room_key", "local_date", "slot_of_day"], how="left").with_columns(
        pl.when(pl.col(f"_ended_{days}") <= pl.col("cutoff")).then(pl.col(f"_value_{days}")).alias(f"_lag_{days}d")
        for days in range(1, 29)).drop(pl.selectors.starts_with("_value_"), pl.selectors.starts_with("_ended_"))


def _state_at_cutoff(frame: pl.DataFrame) -> pl.DataFrame:
    """Per room and cutoff: minutes since the last occupied window, CO2 and power over the last hour."""
    state = frame.sort("room_key", "window_start").with_columns(
        last_motion_end=pl.when(pl.col("occupied") == 1).then(pl.col("window_start") + pl.duration(minutes=15))
        .forward_fill().over("room_key"),
        last_hour_co2=pl.col("co2_ppm").rolling_mean(4, min_samples=1).over("room_key"),
        last_hour_power=pl.col("power_w").rolling_mean(4, min_samples=1).over("room_key"),
    ).with_columns(cutoff=pl.col("window_start") + pl.duration(minutes=15))
    cutoffs = frame.select("room_key", "cutoff").unique()
    return state.join(cutoffs, on=["room_key", "cutoff"], how="semi").select(
        "room_key", "cutoff",
        minutes_since_motion=(pl.col("cutoff") - pl.col("last_motion_end")).dt.total_minutes().cast(pl.Float64),
        last_hour_co2="last_hour_co2", last_hour_power="last_hour_power")


def _with_weather(frame: pl.DataFrame, grid: Grid, timezone: str, fetched: timedelta) -> pl.DataFrame:
    """For each target hour, the latest forecast for the apartment's site fetched by the cutoff (a file of
    prediction date P is fetched at P's local midnight + `fetched`), and its lead time."""
    rows = frame.join(grid.sites, on="apartment_key", how="left").with_columns(
        hour_utc=pl.col("window_start").dt.truncate("1h"),
        newest_fetched=(pl.col("cutoff").dt.convert_time_zone(timezone).dt.replace_time_zone(None)  # wall clock
                        - pl.lit(fetched)).dt.date())
    weather = grid.weather.sort("prediction_date")
    joined = rows.sort("newest_fetched").join_asof(
        weather, left_on="newest_fetched", right_on="prediction_date", by=["site_key", "hour_utc"],
        strategy="backward", check_sortedness=False)  # sorted on the key above
    issued_at = pl.col("prediction_date").cast(pl.Datetime("us")).dt.replace_time_zone(timezone).dt.convert_time_zone("UTC")
    return joined.with_columns(
        weather_lead_hours=(pl.col("hour_utc") - issued_at).dt.total_minutes() / 60,
    ).drop("hour_utc", "newest_fetched", "prediction_date", "site_key")
