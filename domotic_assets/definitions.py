"""The `domotic` code location."""

import dagster as dg

from domotic_assets.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.freshness import with_freshness
from domotic_assets.gold.assets import gold_daily_models, gold_dashboard_views, gold_models
from domotic_assets.gold.project import gold_dbt
from domotic_assets.governance.alerts import run_failure_alert_sensor
from domotic_assets.governance.device_alerts import device_health_alerts
from domotic_assets.governance.freshness_alerts import freshness_alert_sensor
from domotic_assets.governance.gdpr import gdpr_erase_job, gdpr_export_job
from domotic_assets.governance.live_skill import live_skill_asset
from domotic_assets.governance.retention import bronze_retention_job, bronze_retention_schedule
from domotic_assets.ingestion.jobs import sensor_files_job, weather_files_job
from domotic_assets.ingestion.sensors import (
    SENSOR_INTERVAL_SECONDS,
    daily_weather_schedule,
    sftp_weather_files_sensor,
    smb_sensor_files_sensor,
)
from domotic_assets.ml.assets import ml_assets
from domotic_assets.ml.use_cases import USE_CASES
from domotic_assets.silver.reference import silver_reference_tables
from domotic_assets.silver.sensor_events import silver_sensor_events
from domotic_assets.silver.weather import silver_weather_forecasts
from resources.configured import fixed, platform_resources

ML_ASSETS = [*(asset for use_case in USE_CASES for asset in ml_assets(use_case)),
             *(live_skill_asset(use_case) for use_case in USE_CASES)]
# Gold and ML runs leave the run queue before waiting source files: a backlog of downloads (a first start, an
# outage) does not hold the layers that are ready to build.
DOWNSTREAM_FIRST = {"dagster/priority": "1"}

defs = dg.Definitions(
    assets=dg.map_asset_specs(with_freshness, [
        bronze_sensor_files, bronze_weather_files, silver_sensor_events, silver_weather_forecasts,
        silver_reference_tables, gold_models, gold_daily_models, gold_dashboard_views, *ML_ASSETS,
        device_health_alerts]),
    jobs=[sensor_files_job, weather_files_job, gdpr_export_job, gdpr_erase_job, bronze_retention_job],
    sensors=[smb_sensor_files_sensor, sftp_weather_files_sensor, run_failure_alert_sensor, freshness_alert_sensor,
             dg.AutomationConditionSensorDefinition("reference_tables_automation_sensor",
                                                    target=[silver_reference_tables],
                                                    default_status=dg.DefaultSensorStatus.RUNNING),
             # the device-health alerts of a gold day follow it in the same sensor; it looks as often as the
             # share sensor (a new file's way to gold)
             dg.AutomationConditionSensorDefinition("gold_automation_sensor",
                                                    target=[gold_models, gold_daily_models, gold_dashboard_views,
                                                            device_health_alerts],
                                                    run_tags=DOWNSTREAM_FIRST,
                                                    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
                                                    default_status=dg.DefaultSensorStatus.RUNNING),
             dg.AutomationConditionSensorDefinition("ml_automation_sensor", target=ML_ASSETS, run_tags=DOWNSTREAM_FIRST,
                                                    default_status=dg.DefaultSensorStatus.RUNNING)],
    schedules=[daily_weather_schedule, bronze_retention_schedule],
    # Hosts, paths, URLs and policies come from the environment only: no run config can change them.
    resources={name: fixed(resource) for name, resource in {**platform_resources(), "dbt": gold_dbt()}.items()},
    # Steps run in their run's process: a step subprocess would import the code location again (seconds each),
    # and the pools still serialise the steps that write one table.
    executor=dg.in_process_executor,
)
