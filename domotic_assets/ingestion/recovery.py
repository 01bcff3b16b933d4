"""Failed partitions are requested again: a sensor tick looks at the newest run of each partition of its job
and, when that run failed, requests the partition once more after a back-off (10, 20, 40 minutes), at most
three times per failure streak. A later success ends the streak."""

from __future__ import annotations

import dagster as dg

RETRY_AFTER_SECONDS = 600
MAX_REQUESTS_AGAIN = 3
RUNS_LOOKED_AT = 500


def requests_again(instance: dg.DagsterInstance, job_name: str, attempts: dict[str, int], now: float
                   ) -> list[dg.RunRequest]:
    """Run requests for the partitions whose newest run failed; `attempts` (kept in the cursor) is updated."""
    newest: dict[str, dg.RunRecord] = {}
    for record in instance.get_run_records(filters=dg.RunsFilter(job_name=job_name), limit=RUNS_LOOKED_AT):
        key = record.dagster_run.tags.get("dagster/partition")
        if key and key not in newest:  # records come newest first
            newest[key] = record
    requests = []
    for key, record in sorted(newest.items()):
        run = record.dagster_run
        if run.status != dg.DagsterRunStatus.FAILURE:
            if run.status == dg.DagsterRunStatus.SUCCESS:
                attempts.pop(key, None)
            continue
        done = attempts.get(key, 0)
        ended = record.end_time or record.update_timestamp.timestamp()
        if done >= MAX_REQUESTS_AGAIN or now - ended < RETRY_AFTER_SECONDS * 2 ** done:
            continue
        attempts[key] = done + 1
        requests.append(dg.RunRequest(partition_key=key, run_key=f"{job_name}:{key}:again-after-{run.run_id}",
                                      tags={"domotic/requested_again_after": run.run_id}))
    return requests
