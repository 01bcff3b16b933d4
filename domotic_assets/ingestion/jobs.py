"""Jobs the sensors and the schedule run: a source's bronze asset and the silver asset built from it."""

import dagster as dg

from domotic_assets.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.silver.sensor_events import silver_sensor_events
from domotic_assets.silver.weather import silver_weather_forecasts

# A run that dies outside its steps (a lost worker, a restart) is retried from its failure; steps retry their
# own transient errors (RetryPolicy), and the sensors request a partition again when its last run failed.
RUN_RETRIES = {"dagster/max_retries": "2", "dagster/retry_strategy": "FROM_FAILURE",
               "dagster/retry_on_asset_or_op_failure": "false"}

sensor_files_job = dg.define_asset_job(
    "sensor_files_job", selection=dg.AssetSelection.assets(bronze_sensor_files, silver_sensor_events),
    description="Copy a day's sensor files into bronze and load them into silver.", tags=RUN_RETRIES)
weather_files_job = dg.define_asset_job(
    "weather_files_job", selection=dg.AssetSelection.assets(bronze_weather_files, silver_weather_forecasts),
    description="Download a day's forecast file into bronze and clean it into silver.", tags=RUN_RETRIES)
