"""What the readings appended to a sensor day change in gold: the gold of the day before, and from which minute
the gold of the day itself. A day's build reads the next day's first `edge_minutes` and, for a plug with fewer
counter readings there, its first `edge_readings` (docs/gold.md), but what decides its rows is narrower: the next
day's readings that lie before its midnight (a file's readings can), and the first good readings of each energy
series after it, which shape its last minutes (a counter's rise spread back over a gap, a glitch judged by the 5
readings after it, the house meter's power held until its next valid reading). Counting `edge_readings` good
readings, not 6, leaves the margin the build itself relies on: at most 50 glitches in a row. Any other reading
counts in its own minute only (a door's activity is a change from its previous reading, in the new reading's
minute or the next reading's). Of a device reporting every minute, an append of today's files reaches yesterday in
the day's first hour; a sparse device, a late file or a correction may reach it later (docs/gold.md).

The same rule, with an instant in place of the midnight, says from which minute the day's own gold changes: the
earliest new reading's, or an energy series' `edge_readings`-th good reading before its first new one, whichever
is earlier."""

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import polars as pl

from domotic_config.dbt_vars import project_vars
from domotic_config.variables import TIMEZONE

READINGS_REACHING_BACK = "silver_readings_reaching_back"
ENERGY_SERIES = ((pl.col("sensor_type").eq("plug") & pl.col("field").eq("total"))
                 | (pl.col("sensor_type").eq("consumption") & pl.col("field").is_in(["power", "total_power"])))
SERIES = ["apartment", "sensor_id", "field"]
# Per series, the %(edge)s-th good reading of the day before its earliest new one (NULL: fewer since the day's
# midnight; a negative counter is no reading, the house meter's outliers are not held): the earliest of them, and
# how many series have fewer.
SERIES_MARGINS = """
    SELECT min(margin.start), count(*) FILTER (WHERE margin.start IS NULL)
    FROM unnest(%(apartment)s::text[], %(sensor_id)s::text[], %(field)s::text[],
                %(first)s::timestamptz[]) AS new (apartment, sensor_id, field, first)
    CROSS JOIN LATERAL (
        SELECT CASE WHEN count(*) = %(edge)s THEN min(earlier."timestamp") END AS start
        FROM (SELECT earlier."timestamp" FROM silver.sensor_events AS earlier
              WHERE earlier.partition_date = %(day)s AND earlier.apartment = new.apartment
                AND earlier.sensor_id = new.sensor_id AND earlier.field = new.field
                AND earlier."timestamp" >= %(midnight)s AND earlier."timestamp" < new.first
                AND earlier.value >= 0 AND NOT earlier.is_outlier
              ORDER BY earlier."timestamp" DESC
              LIMIT %(edge)s) AS earlier) AS margin"""


@dataclass(frozen=True)
class GoldChange:
    """What the readings appended to a day change in gold."""

    reaching_back: str | None  # why they change the gold of the day before; None: they do not
    rebuild_from: datetime | None  # the first UTC minute of the day's own gold they change; None: the whole day


def gold_change(cursor, day: date, new: pl.DataFrame, replaced: list[str]) -> GoldChange | None:
    """What the readings `new` appended to `day` (and the rows of the `replaced` files they took the place of)
    change in gold; None when they are none."""
    if replaced:
        return GoldChange(f"files read again, their rows replaced: {len(replaced)}", None)
    midnight = datetime.combine(day, time(), ZoneInfo(TIMEZONE)).astimezone(timezone.utc)
    early = new.filter(pl.col("timestamp") < midnight).height
    if early:
        return GoldChange(f"readings before {day}'s midnight: {early}", None)
    if new.is_empty():
        return None
    first_new: datetime = new["timestamp"].min()  # type: ignore[assignment]
    firsts = new.filter(ENERGY_SERIES).group_by(SERIES).agg(first=pl.col("timestamp").min())
    if firsts.is_empty():
        return GoldChange(None, minute_of(first_new))
    edge = project_vars()["edge_readings"]
    cursor.execute(SERIES_MARGINS, {**{name: firsts[name].to_list() for name in [*SERIES, "first"]},
                                    "day": day, "midnight": midnight, "edge": edge})
    [(earliest_margin, at_start)] = cursor.fetchall()
    if at_start:
        return GoldChange(f"energy series with a new reading among their first {edge} good ones of {day}: {at_start}",
                          None)
    return GoldChange(None, minute_of(min(first_new, earliest_margin)))


def minute_of(instant: datetime) -> datetime:
    """The UTC minute of an instant (gold's minutes)."""
    return instant.astimezone(timezone.utc).replace(second=0, microsecond=0)
