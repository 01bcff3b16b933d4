"""Cleaning rules that come from the environment (sensor time zone, oldest forecast year)."""

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
