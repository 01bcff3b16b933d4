"""A freshness breach raises an alert, once per breach: Dagster's daemon judges every asset against its freshness
policy (`domotic_assets/freshness.py`) and records when its state changes; an asset whose state turned FAIL is
alerted, keyed by the asset and the instant it failed, so the same breach is never raised twice and the next
one (after the asset was fresh again) is. Each code location has a sensor of its own, which watches its assets."""

import dagster as dg

from domotic_assets.governance.alerts import Alert, raise_alert
from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource

FAILED = "FAIL"  # dagster's FreshnessState.FAIL (a str enum)


def breaches(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> list[Alert]:
    """An alert for each asset among `keys` whose freshness state is FAIL."""
    found = []
    records = instance.get_freshness_state_records(keys)
    for key, record in sorted(records.items(), key=lambda item: item[0].to_user_string()):
        if record.freshness_state != FAILED:
            continue
        asset, since = key.to_user_string(), record.updated_at.isoformat(timespec="seconds")
        message = f"{asset} is not fresh: its freshness policy fails since {since}"
        found.append(Alert("freshness", f"freshness:{asset}:{since}", message, f"domotic: {message}",
                           {"asset": asset, "failing_since": since}))
    return found


def freshness_alert_sensor(name: str) -> dg.SensorDefinition:
    """The sensor `name` of a code location: it alerts the breaches of that location's assets."""

    @dg.sensor(name=name, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
    def watch(context: dg.SensorEvaluationContext, warehouse: PostgresResource,
              webhook: AlertWebhookResource) -> dg.SkipReason:
        """Raises an alert, once per breach, for every asset of this code location whose freshness policy fails
        (governance.alerts, the log, ALERT_WEBHOOK_URL)."""
        if context.repository_def is None:
            raise dg.DagsterInvariantViolationError("the freshness alerts need the code location's definitions")
        keys = [node.key for node in context.repository_def.asset_graph.asset_nodes if node.freshness_policy]
        raised = [alert.fields["asset"] for alert in breaches(context.instance, keys)
                  if raise_alert(warehouse, webhook, context.log.warning, alert)]
        return dg.SkipReason(f"{len(keys)} assets with a freshness policy; "
                             + (f"alerted: {', '.join(raised)}" if raised else "no new breach"))

    return watch
