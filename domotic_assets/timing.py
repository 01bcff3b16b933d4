"""The platform's clock: its one time zone, the daily partitions shared by the sensor and weather assets,
and the time of day the forecast file is fetched (the ML forecast and the freshness deadlines follow it)."""

from datetime import timedelta

import dagster as dg

from domotic_config.variables import TIMEZONE, integer, value

PARTITIONS_START = value("DOMOTIC_PARTITIONS_START")

# Key = the local date of a sensor file's name, or a forecast file's prediction date. `end_offset=1` makes
# today's partition available while files of the day are still arriving.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone=TIMEZONE, end_offset=1)

# The daily weather schedule's time (local, TIMEZONE).
WEATHER_HOUR = integer("WEATHER_HOUR")
WEATHER_MIN = integer("WEATHER_MIN")
# A forecast file is in gold this long after the local midnight that starts its prediction date (its fetch).
WEATHER_FETCHED = timedelta(hours=WEATHER_HOUR, minutes=WEATHER_MIN)



def after_weather_fetch(minutes: int, hour: int = WEATHER_HOUR, minute: int = WEATHER_MIN) -> str:
    """The daily cron `minutes` after the weather schedule's time (local, TIMEZONE); what follows the daily
    forecast file (the ML forecast, the freshness deadlines) is timed from it."""
    total = (hour * 60 + minute + minutes) % (24 * 60)
    return f"{total % 60} {total // 60} * * *"


# The day-ahead forecast is issued this long after the weather fetch (the ML automation's daily tick).
FORECAST_AFTER_FETCH = timedelta(hours=1)


def issue_before_midnight(hour: int = WEATHER_HOUR, minute: int = WEATHER_MIN) -> timedelta:
    """How long before the local midnight that starts a forecast's day it is issued: the forecast of a day is
    made the day before at the forecast tick (08:30 by default: 15 h 30 min before midnight), from what gold held
    then. Floored to a 15-minute window boundary."""
    issued = (timedelta(hours=hour, minutes=minute) + FORECAST_AFTER_FETCH) % timedelta(days=1)
    issued -= issued % timedelta(minutes=15)
    return timedelta(days=1) - issued


__all__ = ["FORECAST_AFTER_FETCH", "PARTITIONS_START", "TIMEZONE", "WEATHER_FETCHED", "WEATHER_HOUR", "WEATHER_MIN",
           "after_weather_fetch",
           "daily_partitions", "issue_before_midnight"]
