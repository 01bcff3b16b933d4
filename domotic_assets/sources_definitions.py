"""The `domotic_sources` code location: the sources, bronze and silver, with the sensors and the schedule that
bring new files. It imports neither dbt nor the ML libraries, so that a run of new files starts in about a
second of imports instead of the nearly three seconds the `domotic` location (gold, ML, governance) takes."""

import dagster as dg

from domotic_assets.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.freshness import with_freshness
from domotic_assets.governance.freshness_alerts import freshness_alert_sensor
from domotic_assets.governance.retention import bronze_retention_job, bronze_retention_schedule
from domotic_assets.ingestion.jobs import sensor_files_job, weather_files_job
from domotic_assets.ingestion.sensors import daily_weather_schedule, sftp_weather_files_sensor, smb_sensor_files_sensor
from domotic_assets.silver.reference import silver_reference_tables
from domotic_assets.silver.sensor_events import readings_reaching_back, silver_sensor_events
from domotic_assets.silver.weather import silver_weather_forecasts
from resources.configured import fixed, platform_resources

# Hosts, paths, URLs and policies come from the environment only: no run config can change them. The `domotic`
# location offers the same resources.
RESOURCES = {name: fixed(resource) for name, resource in platform_resources().items()}
# Steps run in their run's process: a step subprocess would import the code location again (a second or more
# each), and the pools and the warehouse's locks still serialise the steps that write one table.
EXECUTOR = dg.in_process_executor

defs = dg.Definitions(
    assets=dg.map_asset_specs(with_freshness, [bronze_sensor_files, bronze_weather_files, silver_sensor_events,
                                               readings_reaching_back, silver_weather_forecasts,
                                               silver_reference_tables]),
    jobs=[sensor_files_job, weather_files_job, bronze_retention_job],
    sensors=[smb_sensor_files_sensor, sftp_weather_files_sensor, freshness_alert_sensor("sources_freshness_alert_sensor"),
             dg.AutomationConditionSensorDefinition("reference_tables_automation_sensor",
                                                    target=[silver_reference_tables],
                                                    default_status=dg.DefaultSensorStatus.RUNNING)],
    schedules=[daily_weather_schedule, bronze_retention_schedule],
    resources=RESOURCES,
    executor=EXECUTOR,
)
