"""Whether the readings appended to a sensor day reach back into the day before. A gold day reads, beyond its own
readings, those of the next day that lie before its midnight (a file's readings can) and the first
`edge_readings` of each of the next day's energy series, which shape its last minutes: a plug counter's rise
spread back over a gap, a glitch judged by the readings after it, the house meter's power held until its next
reading. Any other reading of the next day counts in its own minute only. A live append of today's files
reaches yesterday in the day's first hour at most: only then is yesterday's gold rebuilt (docs/gold.md)."""

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import polars as pl

from domotic_config.dbt_vars import project_vars
from domotic_config.variables import TIMEZONE

READINGS_REACHING_BACK = "silver_readings_reaching_back"
ENERGY_SERIES = ((pl.col("sensor_type").eq("plug") & pl.col("field").eq("total"))
                 | (pl.col("sensor_type").eq("consumption") & pl.col("field").is_in(["power", "total_power"])))
SERIES = ["apartment", "sensor_id", "field"]
# the series whose earliest new reading has fewer than %(edge)s readings of the day before it
SERIES_AT_THE_START = """
    SELECT count(*) FROM unnest(%(apartment)s::text[], %(sensor_id)s::text[], %(field)s::text[],
                                %(first)s::timestamptz[]) AS new (apartment, sensor_id, field, first)
    WHERE (SELECT count(*) FROM (
               SELECT FROM silver.sensor_events AS earlier
               WHERE earlier.partition_date = %(day)s AND earlier.apartment = new.apartment
                 AND earlier.sensor_id = new.sensor_id AND earlier.field = new.field AND earlier."timestamp" < new.first
               LIMIT %(edge)s) AS before_first) < %(edge)s"""


def reaches_day_before(cursor, day: date, new: pl.DataFrame, replaced: list[str]) -> str | None:
    """Why the readings `new` appended to `day` (and the rows of the `replaced` files they took the place of)
    change the gold of the day before, or None when they do not."""
    if replaced:
        return f"{len(replaced)} corrected files replaced their rows"
    midnight = datetime.combine(day, time(), ZoneInfo(TIMEZONE)).astimezone(timezone.utc)
    early = new.filter(pl.col("timestamp") < midnight).height
    if early:
        return f"{early} readings lie before {day}'s midnight"
    firsts = new.filter(ENERGY_SERIES).group_by(SERIES).agg(first=pl.col("timestamp").min())
    if firsts.is_empty():
        return None
    edge = project_vars()["edge_readings"]
    cursor.execute(SERIES_AT_THE_START, {**{name: firsts[name].to_list() for name in [*SERIES, "first"]},
                                         "day": day, "edge": edge})
    [(at_start,)] = cursor.fetchall()
    return f"{at_start} energy series have a reading among their first {edge} of {day}" if at_start else None
