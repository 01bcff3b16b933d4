"""Device-health alerts from gold: each local day, rules over the gold facts open one alert per rule and device
(governance.device_alerts), kept open while later evaluations find the condition and closed by the first that
does not; an alert that opens is raised (governance.alerts, the log, ALERT_WEBHOOK_URL); the open alerts are a
WARN asset check. Rules and thresholds: docs/governance.md#device-health-alerts."""

from datetime import date

import dagster as dg
from psycopg2.extras import Json

from domotic_assets.automation import HANDLED_OR_BACKFILLED
from domotic_assets.governance.alerts import Alert, raise_alert
from domotic_assets.timing import daily_partitions
from domotic_config.dbt_vars import project_vars
from domotic_config.variables import integer
from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource

# The rules' thresholds: the environment's (domotic_config/variables.py), the house balance's from dbt's vars.
BATTERY_LOW_PCT = integer("ALERT_BATTERY_LOW_PCT")  # battery_low: the day's lowest battery level below this
SILENT_UPTIME_PCT = integer("ALERT_SILENT_UPTIME_PCT")  # sensor_silent: uptime below this …
REPORTING_UPTIME_PCT = 90  # … while the best device of its apartment that day is above this
STUCK_MINUTES = integer("ALERT_STUCK_MINUTES")  # value_stuck: one value this long …
VARYING_CHANGES = 24  # … from a device whose value changed at least this often the day before
# The measurements that jitter while their sensor works: a room climate sensor's (meteo) and a humidity sensor's
# temperature. Not a bathroom's humidity (it rests at one level for hours between showers), nor a plug's
# temperature (steady while the appliance is off).
STUCK_FIELDS = {"meteo": ["temperature_c", "humidity_pct", "co2_ppm", "noise_db", "pressure_hpa"],
                "humidity": ["temperature"]}
COUNTER_FAULTS = ["reset", "implausible", "backwards"]  # counter_fault: fact_energy_minute.adjustment

GOLD_FACTS = ("fact_device_health_day", "fact_energy_minute")
GOLD_INPUTS = (*GOLD_FACTS, "dim_device", "dim_room", "dim_apartment", "house_balance_minute", "stg_sensor_events")
OPEN_CHECK = "no_open_device_alerts"
# Evaluated when a gold day of its facts is updated (built or rebuilt), once its inputs exist and none is being
# written, and again when one is updated by another run while it runs (`HANDLED_OR_BACKFILLED`); the dimensions'
# nightly refresh re-evaluates nothing.
AUTOMATION = (
    dg.AutomationCondition.any_deps_updated().allow(dg.AssetSelection.assets(*GOLD_FACTS)).since(HANDLED_OR_BACKFILLED)
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)

FINDINGS = r"""
WITH health AS (
    SELECT *, max(uptime_pct) OVER (PARTITION BY apartment_key) AS apartment_best_uptime_pct
    FROM gold.fact_device_health_day WHERE date_key = %(date_key)s
),
-- The day's and the day before's readings of the measurements that jitter when they work, in one ordered pass
-- (the windows share their order, the time each reading was taken, so the readings are sorted once and two
-- readings of one minute keep their order): whether each changed value, then where its run of one value began
-- and how often the measurement changed the day before. Only readings at least the stuck time into their run
-- are kept, so the runs are grouped from a few rows, not every reading.
readings AS (
    SELECT apartment, sensor_id, field, value, reading_at, minute_utc, partition_date,
           value IS DISTINCT FROM lag(value) OVER series AS changed, row_number() OVER series AS reading
    FROM gold_staging.stg_sensor_events
    WHERE partition_date BETWEEN %(day)s::date - 1 AND %(day)s AND sensor_type || '.' || field = ANY(%(stuck_fields)s)
    WINDOW series AS (PARTITION BY apartment, sensor_id, field ORDER BY reading_at)
),
in_runs AS (
    SELECT *, max(minute_utc) FILTER (WHERE changed) OVER series AS since,
           max(reading) FILTER (WHERE changed) OVER series AS first_reading,
           count(*) FILTER (WHERE changed AND partition_date = %(day)s::date - 1)
               OVER (PARTITION BY apartment, sensor_id, field) AS changes_day_before
    FROM readings
    WINDOW series AS (PARTITION BY apartment, sensor_id, field ORDER BY reading_at)
),
stuck AS (
    SELECT apartment || ':' || sensor_id AS device_id, field, min(value) AS value, since, max(minute_utc) AS until,
           max(reading) - min(first_reading) + 1 AS readings
    FROM in_runs
    WHERE minute_utc - since >= make_interval(mins => %(stuck)s) AND changes_day_before >= %(varying)s
    GROUP BY apartment, sensor_id, field, since
    HAVING max(reading) - min(first_reading) + 1 >= %(stuck)s / 2  -- reporting all along, not silent
       AND bool_or(partition_date = %(day)s)
),
balance AS (
    SELECT apartment_key, count(*) AS minutes, count(*) FILTER (WHERE is_comparable) AS comparable_minutes,
           coalesce(sum(house_wh) FILTER (WHERE is_comparable), 0) AS house_wh,
           coalesce(sum(devices_wh) FILTER (WHERE is_comparable), 0) AS devices_wh
    FROM gold.house_balance_minute WHERE date_key = %(date_key)s
    GROUP BY apartment_key
),
findings AS (
    SELECT 'battery_low' AS rule, device_key,
           jsonb_build_object('battery_min_pct', battery_min_pct, 'threshold_pct', %(battery)s) AS evidence
    FROM health WHERE battery_min_pct < %(battery)s
    UNION ALL
    SELECT 'sensor_silent', device_key,
           jsonb_build_object('received_readings', received_readings, 'expected_readings', expected_readings,
                              'uptime_pct', uptime_pct, 'apartment_best_uptime_pct', apartment_best_uptime_pct)
    FROM health WHERE uptime_pct < %(silent)s AND apartment_best_uptime_pct > %(reporting)s
    UNION ALL
    SELECT 'value_stuck', devices.device_key,
           jsonb_build_object('stuck', jsonb_agg(jsonb_build_object(
               'field', field, 'value', value, 'readings', readings,
               'minutes', extract(epoch FROM until - since)::integer / 60 + 1,
               'since', to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'),
               'until', to_char(until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')) ORDER BY field, since))
    FROM stuck JOIN gold.dim_device AS devices USING (device_id)
    GROUP BY devices.device_key
    UNION ALL
    SELECT 'counter_fault', device_key,
           jsonb_build_object('faults', count(*), 'adjustments', jsonb_agg(DISTINCT adjustment),
                              'first_at', regexp_replace(min(datetime_key)::text,
                                                         '(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)', '\1-\2-\3T\4:\5Z'))
    FROM gold.fact_energy_minute
    WHERE date_key = %(date_key)s AND adjustment = ANY(%(faults)s)
    GROUP BY device_key
    UNION ALL
    SELECT 'house_balance', meters.device_key,
           jsonb_build_object('minutes', minutes, 'comparable_minutes', comparable_minutes,
                              'house_wh', round(house_wh::numeric, 1), 'devices_wh', round(devices_wh::numeric, 1),
                              'min_coverage', %(coverage)s, 'tolerance', %(tolerance)s)
    FROM balance JOIN gold.dim_device AS meters
        ON meters.apartment_key = balance.apartment_key AND meters.sensor_type = 'consumption'
    WHERE comparable_minutes < %(coverage)s * minutes OR devices_wh > (1 + %(tolerance)s) * house_wh
)
SELECT findings.rule, findings.device_key, devices.apartment_key, apartments.apartment_id, rooms.room_name,
       devices.device_id, findings.evidence
FROM findings
JOIN gold.dim_device AS devices ON devices.device_key = findings.device_key
JOIN gold.dim_room AS rooms ON rooms.room_key = devices.room_key
JOIN gold.dim_apartment AS apartments ON apartments.apartment_key = devices.apartment_key
ORDER BY 1, 6
"""
COLUMNS = ("rule", "device_key", "apartment_key", "apartment_id", "room_name", "device_id", "evidence")
# A finding opens an alert, or updates the open one (its evidence: that of the latest day found).
OPEN = """
INSERT INTO governance.device_alerts AS alerts
    (rule, device_key, apartment_key, apartment_id, room_name, device_id, evidence, first_day, last_day)
VALUES (%(rule)s, %(device_key)s, %(apartment_key)s, %(apartment_id)s, %(room_name)s, %(device_id)s,
        %(evidence)s, %(day)s, %(day)s)
ON CONFLICT (rule, device_key) WHERE closed_at IS NULL DO UPDATE SET
    last_day = greatest(alerts.last_day, excluded.last_day),
    evidence = CASE WHEN excluded.last_day >= alerts.last_day THEN excluded.evidence ELSE alerts.evidence END
RETURNING alert_id, xmax = 0 AS opened
"""
# An open alert not found on a day as late as its last one is closed (an older day's evaluation closes none).
CLOSE = """
UPDATE governance.device_alerts SET closed_at = now(), closed_day = %(day)s
WHERE closed_at IS NULL AND last_day <= %(day)s AND NOT alert_id = ANY(%(found)s)
"""
OPEN_ALERTS = ("SELECT rule, apartment_id, room_name, device_id, first_day::text, last_day::text, evidence "
               "FROM governance.device_alerts WHERE closed_at IS NULL ORDER BY rule, device_id")


def parameters(day: date) -> dict:
    """The thresholds and the day, as FINDINGS names them."""
    return {"day": day, "date_key": int(day.strftime("%Y%m%d")), "battery": BATTERY_LOW_PCT,
            "silent": SILENT_UPTIME_PCT, "reporting": REPORTING_UPTIME_PCT, "stuck": STUCK_MINUTES,
            "varying": VARYING_CHANGES, "faults": COUNTER_FAULTS,
            "stuck_fields": [f"{kind}.{field}" for kind, fields in STUCK_FIELDS.items() for field in fields],
            "coverage": project_vars()["house_meter_min_coverage"],
            "tolerance": project_vars()["house_balance_tolerance"]}


def evaluate(warehouse: PostgresResource, day: date) -> tuple[list[dict], int]:
    """The rules on the gold facts of `day`, in one transaction: the alerts opened, and how many were closed."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(FINDINGS, parameters(day))
        findings = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        opened, found = [], []
        for finding in findings:
            cursor.execute(OPEN, {**finding, "evidence": Json(finding["evidence"]), "day": day})
            [(alert_id, is_new)] = cursor.fetchall()
            found.append(alert_id)
            if is_new:
                opened.append({**finding, "alert_id": alert_id, "day": day.isoformat()})
        cursor.execute(CLOSE, {"day": day, "found": found})
        return opened, cursor.rowcount


def alert_of(opened: dict) -> Alert:
    """The alert raised when a device-health alert opens: a `text` line naming the device, its room and
    apartment, the day and the evidence, with the alert's fields beside it."""
    evidence = ", ".join(f"{name} {value}" for name, value in opened["evidence"].items())
    text = (f"domotic: {opened['rule']} on {opened['device_id']} (apartment {opened['apartment_id']}, room "
            f"{opened['room_name']}) on {opened['day']}: {evidence}")
    return Alert("device", f"device:{opened['alert_id']}", text, text,
                 {name: value for name, value in opened.items() if name != "device_key"})


@dg.asset(partitions_def=daily_partitions, group_name="governance", kinds={"postgres"},
          deps=[dg.AssetKey(name) for name in GOLD_INPUTS], automation_condition=AUTOMATION,
          check_specs=[dg.AssetCheckSpec(OPEN_CHECK, asset="device_health_alerts",
                                         description="no device-health alert is open (the open ones in its metadata)")])
def device_health_alerts(context: dg.AssetExecutionContext, warehouse: PostgresResource,
                         webhook: AlertWebhookResource) -> dg.MaterializeResult:
    """Device-health rules (battery_low, sensor_silent, value_stuck, counter_fault, house_balance) on the
    day's gold: an alert per rule and device opens once (raised to ALERT_WEBHOOK_URL) and closes when the
    condition has cleared."""
    day = date.fromisoformat(context.partition_key)
    opened, closed = evaluate(warehouse, day)
    for alert in opened:
        raise_alert(warehouse, webhook, context.log.warning, alert_of(alert))
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(OPEN_ALERTS)
        still_open = [dict(zip(("rule", "apartment_id", "room_name", "device_id", "first_day", "last_day",
                                "evidence"), row, strict=True)) for row in cursor.fetchall()]
    check = dg.AssetCheckResult(check_name=OPEN_CHECK, passed=not still_open, severity=dg.AssetCheckSeverity.WARN,
                                metadata={"open_alerts": len(still_open),
                                          "alerts": dg.MetadataValue.json(still_open)})
    return dg.MaterializeResult(metadata={"opened": len(opened), "closed": closed, "open": len(still_open)},
                                check_results=[check])
