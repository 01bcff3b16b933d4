"""Which first days of a live gold run stay as they are. A new file of today requests yesterday's gold too, since a
day's facts read the readings after its midnight; but once today's new readings no longer reach back (after about
the first hour), rebuilding yesterday would give the same rows. The automation's gold runs (tag `LIVE_RUN`) leave
such a day as it is; a run launched by hand or by a backfill rebuilds every day it targets.

A day stays as it is when what it was last built from is known (the silver snapshot and the dbt project's digest
in its materialisations' metadata, every daily model the same) and nothing loaded into silver since then reaches
it (`reason_to_rebuild`)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from domotic_config.variables import TIMEZONE
from resources.postgres import PostgresResource

LIVE_RUN = {"domotic/gold_days": "rebuild-what-changed"}
SNAPSHOT = "silver_snapshot"
PROJECT = "dbt_project_digest"
# Rows committed after a snapshot: their inserting transaction, widened to a full transaction id
# (silver.full_transaction_id, as the dbt macro of the same name calls it), is not visible in it.
NEWEST_ID = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
LOADED_SINCE = (f"NOT pg_visible_in_snapshot(silver.full_transaction_id(xmin, (SELECT {NEWEST_ID} >> 32), "
                f"(SELECT {NEWEST_ID} & 4294967295)), %(snapshot)s::pg_snapshot)")
# The readings whose successors shape a day's last minutes (int_counter_energy, fact_energy_minute): a plug's
# counter (its rise is spread back over a gap, a glitch is judged against the readings after it) and the house
# meter's power (held until its next reading). Other readings count in their own minute only.
ENERGY_SERIES = ("(sensor_type = 'plug' AND field = 'total') "
                 "OR (sensor_type = 'consumption' AND field IN ('power', 'total_power'))")


def last_build(instance: dg.DagsterInstance, keys: list[dg.AssetKey], day: date) -> tuple[str, str] | None:
    """The silver snapshot and the dbt project's digest a gold day was last built from, when each of the daily
    models' latest materialisations of it records the same ones; None otherwise (never built, built by an earlier
    version, a model built apart)."""
    found = set()
    for key in keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()]), limit=1).records
        metadata = records[0].asset_materialization.metadata if records and records[0].asset_materialization else {}
        if SNAPSHOT not in metadata or PROJECT not in metadata:
            return None
        found.add((str(metadata[SNAPSHOT].value), str(metadata[PROJECT].value)))
    return found.pop() if len(found) == 1 else None


def reason_to_rebuild(warehouse: PostgresResource, day: date, snapshot: str, edge_readings: int) -> str | None:
    """Why a gold day built from `snapshot` must be rebuilt, or None when nothing loaded into silver since reaches
    it: sensor files of the day or the day before, the day's forecast file, a reading of the next day that lies
    before its midnight, or a reading of the next day's energy series among their first `edge_readings` (the
    margin a day's build reads beyond its neighbours, dbt var `edge_readings`)."""
    after = day + timedelta(days=1)
    parameters = {"snapshot": snapshot, "before": day - timedelta(days=1), "day": day, "after": after,
                  "midnight": datetime.combine(after, time(), ZoneInfo(TIMEZONE)), "edge": edge_readings}
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT EXISTS (SELECT FROM silver.file_ledger WHERE source = 'sensor'
                           AND partition_date BETWEEN %(before)s AND %(day)s AND {LOADED_SINCE}),
                   EXISTS (SELECT FROM silver.weather_forecasts WHERE prediction_date = %(day)s AND {LOADED_SINCE})""",
                       parameters)
        [(sensor_files, forecasts)] = cursor.fetchall()
        if sensor_files:
            return f"sensor files of {parameters['before']} or {day} were loaded since"
        if forecasts:
            return f"the forecast file of {day} was loaded since"
        # one scan of the next day's partition, which stops at the first reading that reaches back: when the
        # whole day is new (a day loaded at once), that is among its first rows
        cursor.execute(f"""
            SELECT EXISTS (
                SELECT FROM silver.sensor_events AS new
                WHERE partition_date = %(after)s AND {LOADED_SINCE}
                  AND ("timestamp" < %(midnight)s OR (({ENERGY_SERIES}) AND (
                       SELECT count(*) FROM (
                           SELECT FROM silver.sensor_events AS earlier
                           WHERE earlier.partition_date = %(after)s AND earlier.apartment = new.apartment
                             AND earlier.sensor_id = new.sensor_id AND earlier.field = new.field
                             AND earlier."timestamp" < new."timestamp"
                           LIMIT %(edge)s) AS first) < %(edge)s)))""", parameters)
        [(reaches_back,)] = cursor.fetchall()
    if reaches_back:
        return (f"a reading loaded since into {after} lies before its midnight or is among the first "
                f"{edge_readings} of an energy series")
    return None
