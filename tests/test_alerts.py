"""The alert sensors against the real PostgreSQL and a local HTTP receiver: a failed run, or a freshness breach,
becomes one row of governance.alerts and one JSON POST; a webhook that is down is recorded, never raised."""

from __future__ import annotations

import time
from datetime import timedelta

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from domotic_assets.governance.alerts import run_failure_alert_sensor
from domotic_assets.governance.freshness_alerts import freshness_alert_sensor
from domotic_ops.procs import free_port
from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource

pytestmark = pytest.mark.integration


@dg.op
def broken():
    raise RuntimeError("the share is not mounted")


@dg.job
def broken_job():
    broken()


@dg.asset(check_specs=[dg.AssetCheckSpec("readings_land", asset="checked_fact", blocking=True)])
def checked_fact():
    yield dg.Output(1)
    yield dg.AssetCheckResult(check_name="readings_land", passed=False, severity=dg.AssetCheckSeverity.ERROR)


@dg.asset(deps=[checked_fact])
def after_the_fact():
    return 2


def failure_context(resources: dict, failing=None) -> dg.RunFailureSensorContext:
    instance = dg.DagsterInstance.ephemeral()
    result = failing(instance) if failing else broken_job.execute_in_process(instance=instance, raise_on_error=False)
    event = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name=run_failure_alert_sensor.name, dagster_event=event, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id), resources=resources).for_run_failure()


def test_a_failed_run_is_recorded_and_posted_once(fresh_database, receiver):
    url, received = receiver
    warehouse = PostgresResource(db_url=fresh_database("alerts_test"))
    context = failure_context({"warehouse": warehouse, "webhook": AlertWebhookResource(url=url)})
    run_failure_alert_sensor(context)
    run_failure_alert_sensor(context)  # the sensor seeing the run again records it once
    [posted] = received
    assert posted["job_name"] == "broken_job" and posted["run_id"] == context.dagster_run.run_id
    # Slack and Teams display `text` and reject a payload without it
    assert posted["text"].startswith(f"domotic: run {context.dagster_run.run_id} of broken_job failed: ")
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT kind, alert_key, run_id, job_name, webhook_status FROM governance.alerts")
        run_id = context.dagster_run.run_id
        assert cursor.fetchall() == [("run_failed", run_id, run_id, "broken_job", "200")]


def test_a_webhook_that_is_down_is_recorded_not_raised(fresh_database):
    warehouse = PostgresResource(db_url=fresh_database("alerts_down"))
    down = AlertWebhookResource(url=f"http://127.0.0.1:{free_port()}/hook", timeout_seconds=2)
    context = failure_context({"warehouse": warehouse, "webhook": down})
    run_failure_alert_sensor(context)
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT webhook_status FROM governance.alerts")
        assert "Connection refused" in cursor.fetchone()[0]


def test_a_run_stopped_by_a_failed_blocking_check_names_the_check_once(fresh_database, receiver):
    url, received = receiver
    warehouse = PostgresResource(db_url=fresh_database("alerts_checks"))
    context = failure_context({"warehouse": warehouse, "webhook": AlertWebhookResource(url=url)},
                              lambda instance: dg.materialize([checked_fact, after_the_fact], instance=instance,
                                                              raise_on_error=False))
    run_failure_alert_sensor(context)
    run_failure_alert_sensor(context)
    [posted] = received
    assert posted["message"].startswith("blocking checks failed: checked_fact.readings_land. ")
    assert "checked_fact.readings_land" in posted["text"]


@dg.asset(freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=30)))
def fresh_fact():
    return 1


@dg.asset
def unwatched_fact():
    return 2


def test_a_freshness_breach_is_raised_once_and_the_next_breach_again(fresh_database, receiver):
    url, received = receiver
    warehouse = PostgresResource(db_url=fresh_database("alerts_freshness"))
    instance = dg.DagsterInstance.ephemeral()
    definitions = dg.Definitions(assets=[fresh_fact, unwatched_fact])

    def evaluate():
        context = dg.build_sensor_context(instance=instance, repository_def=definitions.get_repository_def(),
                                          resources={"warehouse": warehouse, "webhook": AlertWebhookResource(url=url)})
        return freshness_alert_sensor("freshness_alert_sensor")(context)

    def state(key: dg.AssetKey, new: FreshnessState, previous: FreshnessState, at: float) -> None:
        instance.report_runless_asset_event(FreshnessStateChange(key=key, new_state=new, previous_state=previous,
                                                                 state_change_timestamp=at))

    breach = time.time() - 3600
    state(fresh_fact.key, FreshnessState.FAIL, FreshnessState.PASS, breach)
    state(unwatched_fact.key, FreshnessState.FAIL, FreshnessState.PASS, breach)  # no policy: not watched
    assert "alerted: fresh_fact" in evaluate().skip_message
    assert "no new breach" in evaluate().skip_message  # the same breach: raised once
    [posted] = received
    assert posted["kind"] == "freshness" and posted["asset"] == "fresh_fact"
    assert posted["text"].startswith("domotic: fresh_fact is not fresh: its freshness policy fails since ")

    state(fresh_fact.key, FreshnessState.PASS, FreshnessState.FAIL, breach + 600)
    evaluate()  # fresh again: nothing
    state(fresh_fact.key, FreshnessState.FAIL, FreshnessState.PASS, breach + 1200)
    evaluate()
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT kind, message, webhook_status FROM governance.alerts ORDER BY alert_id")
        alerts = cursor.fetchall()
    assert [(kind, status) for kind, _, status in alerts] == [("freshness", "200"), ("freshness", "200")]
    assert len(received) == 2 and alerts[0][1] != alerts[1][1]
