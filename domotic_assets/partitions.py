"""Daily partitions shared by the sensor and weather assets (one timezone for the whole platform)."""

import dagster as dg

from domotic_config.variables import TIMEZONE, value

PARTITIONS_START = value("DOMOTIC_PARTITIONS_START")

# Key = the local date of a sensor file's name, or a forecast file's prediction date. `end_offset=1` makes
# today's partition available while files of the day are still arriving.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone=TIMEZONE, end_offset=1)
