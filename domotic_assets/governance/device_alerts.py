"""Device-health alerts from gold: each local day, rules over the gold facts open one alert per rule and device
(governance.device_alerts, a JSON POST to ALERT_WEBHOOK_URL), kept open while later evaluations find the
condition and closed by the first that does not; the open alerts are a WARN asset check."""

from datetime import date

import dagster as dg
from psycopg2.extras import Json

from domotic_assets.timing import daily_partitions
from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource

# The rules' thresholds (docs/governance.md#device-health-alerts).
BATTERY_LOW_PCT = 15.0  # battery_low: the day's lowest battery level below this
SILENT_UPTIME_PCT = 50.0  # sensor_silent: uptime below this …
REPORTING_UPTIME_PCT = 90.0  # … while the best device of its apartment that day is above this
COUNTER_FAULTS = ["reset", "implausible", "backwards"]  # counter_fault: fact_energy_minute.adjustment

GOLD_FACTS = ("fact_device_health_day", "fact_energy_minute")
GOLD_INPUTS = (*GOLD_FACTS, "dim_device", "dim_room", "dim_apartment")
OPEN_CHECK = "no_open_device_alerts"
# Evaluated when a gold day of its facts is updated (built or rebuilt), once its inputs exist and none is being
# written; the dimensions' nightly refresh re-evaluates nothing.
AUTOMATION = (
    dg.AutomationCondition.any_deps_updated().allow(dg.AssetSelection.assets(*GOLD_FACTS)).since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)

FINDINGS = r"""
WITH health AS (
    SELECT *, max(uptime_pct) OVER (PARTITION BY apartment_key) AS apartment_best_uptime_pct
    FROM gold.fact_device_health_day WHERE date_key = %(date_key)s
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
    SELECT 'counter_fault', device_key,
           jsonb_build_object('faults', count(*), 'adjustments', jsonb_agg(DISTINCT adjustment),
                              'first_at', regexp_replace(min(datetime_key)::text,
                                                         '(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)', '\1-\2-\3T\4:\5Z'))
    FROM gold.fact_energy_minute
    WHERE date_key = %(date_key)s AND adjustment = ANY(%(faults)s)
    GROUP BY device_key
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


def evaluate(warehouse: PostgresResource, day: date) -> tuple[list[dict], int]:
    """The rules on the gold facts of `day`, in one transaction: the alerts opened, and how many were closed."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(FINDINGS, {"date_key": int(day.strftime("%Y%m%d")), "battery": BATTERY_LOW_PCT,
                                  "silent": SILENT_UPTIME_PCT, "reporting": REPORTING_UPTIME_PCT,
                                  "faults": COUNTER_FAULTS})
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


def webhook_payload(alert: dict) -> dict:
    """The alert as Slack's and Teams' incoming webhooks accept it (`text`), with its fields beside it."""
    evidence = ", ".join(f"{name} {value}" for name, value in alert["evidence"].items())
    text = (f"domotic: {alert['rule']} on {alert['device_id']} (apartment {alert['apartment_id']}, room "
            f"{alert['room_name']}) on {alert['day']}: {evidence}")
    return {"text": text, "source": "domotic", **{k: v for k, v in alert.items() if k != "device_key"}}


@dg.asset(partitions_def=daily_partitions, group_name="governance", kinds={"postgres"},
          deps=[dg.AssetKey(name) for name in GOLD_INPUTS], automation_condition=AUTOMATION,
          check_specs=[dg.AssetCheckSpec(OPEN_CHECK, asset="device_health_alerts",
                                         description="no device-health alert is open (the open ones in its metadata)")])
def device_health_alerts(context: dg.AssetExecutionContext, warehouse: PostgresResource,
                         webhook: AlertWebhookResource) -> dg.MaterializeResult:
    """Device-health rules (battery_low, sensor_silent, counter_fault) on the day's gold facts: an alert per
    rule and device opens once (posted to ALERT_WEBHOOK_URL) and closes when the condition has cleared."""
    day = date.fromisoformat(context.partition_key)
    opened, closed = evaluate(warehouse, day)
    for alert in opened:
        payload = webhook_payload(alert)
        context.log.warning(payload["text"])
        status = webhook.post(payload)
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("UPDATE governance.device_alerts SET webhook_status = %s WHERE alert_id = %s",
                           (status, alert["alert_id"]))
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(OPEN_ALERTS)
        still_open = [dict(zip(("rule", "apartment_id", "room_name", "device_id", "first_day", "last_day",
                                "evidence"), row, strict=True)) for row in cursor.fetchall()]
    check = dg.AssetCheckResult(check_name=OPEN_CHECK, passed=not still_open, severity=dg.AssetCheckSeverity.WARN,
                                metadata={"open_alerts": len(still_open),
                                          "alerts": dg.MetadataValue.json(still_open)})
    return dg.MaterializeResult(metadata={"opened": len(opened), "closed": closed, "open": len(still_open)},
                                check_results=[check])
