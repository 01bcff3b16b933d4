"""The `domotic` code location: gold (dbt), ML and governance. The sources, bronze and silver are the
`domotic_sources` location (`sources_definitions.py`); Dagster joins the two by asset key (`workspace.yaml`)."""

import dagster as dg

from domotic_assets import sources_definitions as sources
from domotic_assets.freshness import with_freshness
from domotic_assets.gold.assets import gold_daily_models, gold_dashboard_views, gold_models
from domotic_assets.gold.project import gold_dbt
from domotic_assets.governance.alerts import run_failure_alert_sensor
from domotic_assets.governance.device_alerts import device_health_alerts
from domotic_assets.governance.freshness_alerts import freshness_alert_sensor
from domotic_assets.governance.gdpr import gdpr_erase_job, gdpr_export_job
from domotic_assets.governance.live_skill import live_skill_asset
from domotic_assets.ingestion.sensors import SENSOR_INTERVAL_SECONDS
from domotic_assets.ml.assets import ml_assets
from domotic_assets.ml.use_cases import USE_CASES
from resources.configured import fixed

ML_ASSETS = [*(asset for use_case in USE_CASES for asset in ml_assets(use_case)),
             *(live_skill_asset(use_case) for use_case in USE_CASES)]
# Gold and ML runs leave the run queue before waiting source files: a backlog of downloads (a first start, an
# outage) does not hold the layers that are ready to build.
DOWNSTREAM_FIRST = {"dagster/priority": "1"}

defs = dg.Definitions(
    assets=dg.map_asset_specs(with_freshness, [gold_models, gold_daily_models, gold_dashboard_views, *ML_ASSETS,
                                               device_health_alerts]),
    jobs=[gdpr_export_job, gdpr_erase_job],
    sensors=[run_failure_alert_sensor, freshness_alert_sensor("freshness_alert_sensor"),
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
    resources={**sources.RESOURCES, "dbt": fixed(gold_dbt())},
    executor=sources.EXECUTOR,
)
