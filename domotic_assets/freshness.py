"""Freshness policies of every layer, declared once and applied to the assets by `definitions.py`: a stale
asset shows as such in the UI (Assets → Freshness). Views that are built only when their SQL changes (the
staging views, the dashboards' views) have none: their data is as fresh as the tables they read."""

from datetime import timedelta

import dagster as dg

from domotic_assets.timing import TIMEZONE, after_weather_fetch

DAY = timedelta(hours=24)

# Sensor files arrive every minute and the share sensor ticks every SENSOR_INTERVAL_SECONDS.
SENSOR_DATA = dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=30), warn_window=timedelta(minutes=10))
# The day's forecast file is fetched at WEATHER_HOUR:WEATHER_MIN and must be in 30 minutes later (08:00 local).
WEATHER = dg.FreshnessPolicy.cron(deadline_cron=after_weather_fetch(30), lower_bound_delta=DAY, timezone=TIMEZONE)
# Gold days follow their silver days within the hour (the weather facts follow the forecast file, by 09:00);
# the unpartitioned models and the reference tables are rebuilt every night; the ML chain starts an hour after
# the weather fetch and is due two hours later. The device-health alerts follow the gold days.
GOLD_DAYS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2), warn_window=timedelta(hours=1))
GOLD_WEATHER = dg.FreshnessPolicy.cron(deadline_cron=after_weather_fetch(90), lower_bound_delta=DAY,
                                       timezone=TIMEZONE)
NIGHTLY = dg.FreshnessPolicy.cron(deadline_cron="0 5 * * *", lower_bound_delta=DAY, timezone=TIMEZONE)
FORECASTS = dg.FreshnessPolicy.cron(deadline_cron=after_weather_fetch(180), lower_bound_delta=DAY, timezone=TIMEZONE)

BY_ASSET = {"bronze_sensor_files": SENSOR_DATA, "silver_sensor_events": SENSOR_DATA,
            "bronze_weather_files": WEATHER, "silver_weather_forecasts": WEATHER,
            "silver_reference_tables": NIGHTLY, "device_health_alerts": GOLD_DAYS}
BY_GROUP = {"gold": NIGHTLY, "ml": FORECASTS}
WEATHER_GOLD_INPUTS = {"silver_weather_forecasts", "fact_weather_hour"}


def with_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The spec with its layer's policy (gold's daily facts follow silver; staging and dashboard views have none)."""
    name = spec.key.to_user_string()
    if name in BY_ASSET:
        policy: dg.FreshnessPolicy | None = BY_ASSET[name]
    elif spec.group_name == "gold" and spec.partitions_def is not None:
        inputs = {dep.asset_key.to_user_string() for dep in spec.deps}
        policy = GOLD_WEATHER if inputs & WEATHER_GOLD_INPUTS and "silver_sensor_events" not in inputs else GOLD_DAYS
    else:
        policy = BY_GROUP.get(spec.group_name) if spec.group_name else None
    return spec.replace_attributes(freshness_policy=policy) if policy else spec
