"""A failed run raises an alert: a row of governance.alerts, an error in the sensor's log, and a JSON POST to
ALERT_WEBHOOK_URL when it is set. A run stopped by a failed blocking asset check (a dbt test of error severity)
names that check in its alert."""

import dagster as dg

from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource

MESSAGE_CHARS = 2000


def alert_of(context: dg.RunFailureSensorContext) -> dict:
    """The run's alert; its message names the blocking asset checks that failed in it (what stopped it)."""
    run = context.dagster_run
    failed = failed_blocking_checks(context.instance, run.run_id)
    message = (f"blocking checks failed: {', '.join(failed)}. " if failed else "") + (
        context.failure_event.message or "run failed")
    return {"run_id": run.run_id, "job_name": run.job_name, "partition_key": run.tags.get("dagster/partition"),
            "message": message[:MESSAGE_CHARS]}


def failed_blocking_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """`asset.check` of every error-severity check that failed in the run."""
    found = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed \
                and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            found.append(f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}")
    return sorted(set(found))


def webhook_payload(alert: dict) -> dict:
    """The alert as Slack's and Teams' incoming webhooks accept it (`text`, which they display), with the
    structured fields beside it for any other receiver."""
    partition = f" (partition {alert['partition_key']})" if alert["partition_key"] else ""
    text = f"domotic: run {alert['run_id']} of {alert['job_name']}{partition} failed: {alert['message'][:300]}"
    return {"text": text, **alert, "source": "domotic"}


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=True)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, warehouse: PostgresResource,
                             webhook: AlertWebhookResource) -> None:
    """Records every failed run as an alert (governance.alerts, the log) and posts it to ALERT_WEBHOOK_URL."""
    alert = alert_of(context)
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO governance.alerts (run_id, job_name, partition_key, message) "
                       "VALUES (%(run_id)s, %(job_name)s, %(partition_key)s, %(message)s) "
                       "ON CONFLICT (run_id) DO NOTHING RETURNING alert_id", alert)
        if cursor.fetchone() is None:
            return  # alerted already (the sensor saw the run before)
    payload = webhook_payload(alert)
    context.log.error(payload["text"])
    status = webhook.post(payload)
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE governance.alerts SET webhook_status = %s WHERE run_id = %s", (status, alert["run_id"]))
