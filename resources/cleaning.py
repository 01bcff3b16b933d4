"""Cleaning rules that come from the environment (sensor time zone, oldest forecast year, file size limits)."""

import dagster as dg
from pydantic import Field

from domotic_config import variables as config


class CleaningRulesResource(dg.ConfigurableResource):
    """How bronze is interpreted on its way to silver."""

    sensor_timezone: str = Field(default=config.default("SENSOR_TIMEZONE"),
                                 description="SENSOR_TIMEZONE of the wall-clock `datetime`")
    weather_min_year: int = Field(default=int(config.default("WEATHER_MIN_YEAR")),
                                  description="WEATHER_MIN_YEAR: older forecast rows are dropped")
    parse_workers: int = Field(default=2, description="processes parsing sensor files in large runs")
    sensor_file_max_bytes: int = Field(default=int(config.default("SENSOR_FILE_MAX_BYTES")),
                                       description="SENSOR_FILE_MAX_BYTES: larger sensor files are quarantined unread")
    weather_file_max_bytes: int = Field(default=int(config.default("WEATHER_FILE_MAX_BYTES")),
                                        description="WEATHER_FILE_MAX_BYTES: larger forecast files are quarantined unread")
