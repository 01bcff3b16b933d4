"""Whether the readings appended to a sensor day change the gold of the day before. A day's build reads the
next day's first `edge_minutes` and, for a plug with fewer counter readings there, its first `edge_readings`
(docs/gold.md), but what decides its rows is narrower: the next day's readings that lie before its midnight
(a file's readings can), and the first good readings of each energy series after it, which shape its last
minutes (a counter's rise spread back over a gap, a glitch judged by the 5 readings after it, the house meter's
power held until its next valid reading). Counting `edge_readings` good readings, not 6, leaves the margin the
build itself relies on: at most 50 glitches in a row. Any other reading of the next day counts in its own
minute only. Of a device reporting every minute, an append of today's files reaches yesterday in the day's
first hour; a sparse device, a late file or a correction may reach it later (docs/gold.md)."""

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import polars as pl

from domotic_config.dbt_vars import project_vars
from domotic_config.variables import TIMEZONE

READINGS_REACHING_BACK = "silver_readings_reaching_back"
ENERGY_SERIES = ((pl.col("sensor_type").eq("plug") & pl.col("field").eq("total"))
                 | (pl.col("sensor_type").eq("consumption") & pl.col("field").is_in(["power", "total_power"])))
SERIES = ["apartment", "sensor_id", "field"]
# The series whose earliest new reading has fewer than %(edge)s good readings of the day between the day's
# midnight and it (a negative counter is no reading, the house meter's outliers are not held).
SERIES_AT_THE_START = """
    SELECT count(*) FROM unnest(%(apartment)s::text[], %(sensor_id)s::text[], %(field)s::text[],
                                %(first)s::timestamptz[]) AS new (apartment, sensor_id, field, first)
    WHERE (SELECT count(*) FROM (
               SELECT FROM silver.sensor_events AS earlier
               WHERE earlier.partition_date = %(day)s AND earlier.apartment = new.apartment
                 AND earlier.sensor_id = new.sensor_id AND earlier.field = new.field
                 AND earlier."timestamp" >= %(midnight)s AND earlier."timestamp" < new.first
                 AND earlier.value >= 0 AND NOT earlier.is_outlier
               LIMIT %(edge)s) AS before_first) < %(edge)s"""


def reaches_day_before(cursor, day: date, new: pl.DataFrame, replaced: list[str]) -> str | None:
    """Why the readings `new` appended to `day` (and the rows of the `replaced` files they took the place of)
    change the gold of the day before, or None when they do not."""
    if replaced:
        return f"files read again, their rows replaced: {len(replaced)}"
    midnight = datetime.combine(day, time(), ZoneInfo(TIMEZONE)).astimezone(timezone.utc)
    early = new.filter(pl.col("timestamp") < midnight).height
    if early:
        return f"readings before {day}'s midnight: {early}"
    firsts = new.filter(ENERGY_SERIES).group_by(SERIES).agg(first=pl.col("timestamp").min())
    if firsts.is_empty():
        return None
    edge = project_vars()["edge_readings"]
    cursor.execute(SERIES_AT_THE_START, {**{name: firsts[name].to_list() for name in [*SERIES, "first"]},
                                         "day": day, "midnight": midnight, "edge": edge})
    [(at_start,)] = cursor.fetchall()
    return f"energy series with a new reading among their first {edge} good ones of {day}: {at_start}" if at_start else None
