"""Tomorrow's forecasts, issued every morning an hour after the weather file is fetched."""

import dagster as dg

from domotic_assets.bronze.automation import WEATHER_HOUR, WEATHER_MIN
from domotic_assets.ml.assets import TARGETS
from domotic_ops.config import TIMEZONE

ml_forecast_job = dg.define_asset_job(
    "ml_forecast_job", selection=[f"{target}_{step}" for target in TARGETS for step in ("features", "forecast")])
ml_forecast_schedule = dg.ScheduleDefinition(
    name="ml_forecast_schedule", job=ml_forecast_job, cron_schedule=f"{WEATHER_MIN} {(WEATHER_HOUR + 1) % 24} * * *",
    execution_timezone=TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING)
