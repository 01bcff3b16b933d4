"""Jobs the sensors and the schedule run: a source's bronze asset and the silver asset built from it."""

import dagster as dg

from domotic_assets.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.silver.sensor_events import silver_sensor_events
from domotic_assets.silver.weather import silver_weather_forecasts

sensor_files_job = dg.define_asset_job(
    "sensor_files_job", selection=dg.AssetSelection.assets(bronze_sensor_files, silver_sensor_events),
    description="Copy a day's sensor files into bronze and load them into silver.")
weather_files_job = dg.define_asset_job(
    "weather_files_job", selection=dg.AssetSelection.assets(bronze_weather_files, silver_weather_forecasts),
    description="Download a day's forecast file into bronze and clean it into silver.")
