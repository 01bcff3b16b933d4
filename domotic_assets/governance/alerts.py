"""Alerts, each raised once: a row of governance.alerts, a line in the log, and a JSON POST to ALERT_WEBHOOK_URL
when it is set. This module raises them (`raise_alert`) and holds the failed-run alert: a run stopped by a failed
blocking asset check (a dbt test of error severity) names that check in its alert."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource

MESSAGE_CHARS = 2000
TEXT_CHARS = 300


@dataclass(frozen=True)
class Alert:
    """One alert: its `kind` (run_failed, freshness, device), the `key` it is raised once for, the full
    `message`, the `text` line Slack and Teams display, and its structured `fields` (posted beside the text;
    run_id, job_name, partition_key and apartment_key are also columns of governance.alerts)."""

    kind: str
    key: str
    message: str
    text: str
    fields: dict = field(default_factory=dict)

    def payload(self) -> dict:
        return {"text": self.text[:TEXT_CHARS], "kind": self.kind, **self.fields, "source": "domotic"}


RECORD = """
INSERT INTO governance.alerts (kind, alert_key, run_id, job_name, partition_key, apartment_key, message)
VALUES (%(kind)s, %(key)s, %(run_id)s, %(job_name)s, %(partition_key)s, %(apartment_key)s, %(message)s)
ON CONFLICT (alert_key) DO NOTHING RETURNING alert_id
"""


def raise_alert(warehouse: PostgresResource, webhook: AlertWebhookResource, log: Callable[[str], None],
                alert: Alert) -> bool:
    """Records, logs and posts the alert unless its key was raised before; whether it was raised now."""
    columns = {name: alert.fields.get(name) for name in ("run_id", "job_name", "partition_key", "apartment_key")}
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(RECORD, {"kind": alert.kind, "key": alert.key, "message": alert.message[:MESSAGE_CHARS],
                                **columns})
        recorded = cursor.fetchone()
    if recorded is None:
        return False
    log(alert.text)
    status = webhook.post(alert.payload())
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE governance.alerts SET webhook_status = %s WHERE alert_id = %s", (status, recorded[0]))
    return True


def alert_of(context: dg.RunFailureSensorContext) -> Alert:
    """The run's alert; its message names the blocking asset checks that failed in it (what stopped it)."""
    run = context.dagster_run
    failed = failed_blocking_checks(context.instance, run.run_id)
    message = (f"blocking checks failed: {', '.join(failed)}. " if failed else "") + (
        context.failure_event.message or "run failed")
    partition = run.tags.get("dagster/partition")
    fields = {"run_id": run.run_id, "job_name": run.job_name, "partition_key": partition,
              "message": message[:MESSAGE_CHARS]}
    text = (f"domotic: run {run.run_id} of {run.job_name}{f' (partition {partition})' if partition else ''} "
            f"failed: {message}")
    return Alert("run_failed", run.run_id, message, text, fields)


def failed_blocking_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """`asset.check` of every error-severity check that failed in the run."""
    found = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed \
                and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            found.append(f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}")
    return sorted(set(found))


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=True)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, warehouse: PostgresResource,
                             webhook: AlertWebhookResource) -> None:
    """Raises an alert for every failed run, once (governance.alerts, the log, ALERT_WEBHOOK_URL)."""
    raise_alert(warehouse, webhook, context.log.error, alert_of(context))
