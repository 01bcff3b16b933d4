"""The `domotic` code location."""

import dagster as dg

from domotic_assets.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.bronze.automation import daily_weather_schedule, sftp_weather_files_sensor, smb_sensor_files_sensor
from domotic_assets.jobs import sensor_files_job, weather_files_job
from domotic_assets.resources import platform_resources
from domotic_assets.silver.sensor_events import silver_sensor_events

defs = dg.Definitions(
    assets=[bronze_sensor_files, bronze_weather_files, silver_sensor_events],
    jobs=[sensor_files_job, weather_files_job],
    sensors=[smb_sensor_files_sensor, sftp_weather_files_sensor],
    schedules=[daily_weather_schedule],
    resources=platform_resources(),
)
