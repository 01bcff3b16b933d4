"""Daily partitions shared by the sensor and weather assets (one timezone for the whole platform)."""

import os

import dagster as dg

TIMEZONE = "Europe/Zurich"
PARTITIONS_START = os.environ.get("DOMOTIC_PARTITIONS_START", "2022-01-01")

# Key = the local date of a sensor file's name, or a forecast file's prediction date. `end_offset=1` makes
# today's partition available while files of the day are still arriving.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone=TIMEZONE, end_offset=1)
