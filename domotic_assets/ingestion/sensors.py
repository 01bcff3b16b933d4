"""Sensors and the schedule that bring new source files into bronze without anyone clicking.

Both sensors run by default (`DefaultSensorStatus.RUNNING`); the weather schedule is STOPPED by default
because the demo's sFTP server only holds historical files: turn it on in the UI against a live server.
"""

from __future__ import annotations

import json
import time
from zoneinfo import ZoneInfo

import dagster as dg

from domotic_assets.bronze.assets import bronze_sensor_files
from domotic_assets.ingestion.jobs import sensor_files_job, weather_files_job
from domotic_assets.ingestion.recovery import requests_again
from domotic_assets.timing import TIMEZONE, WEATHER_HOUR, WEATHER_MIN, daily_partitions
from domotic_config.variables import integer, value
from resources.bronze import BronzeResource
from resources.sftp import SFTPResource
from resources.smb import SMBShareResource
from sensors_io.discovery import Cursor, discover, forget
from sensors_io.erased import ErasedApartments
from sensors_io.filenames import FilenameError, parse_weather_filename
from sensors_io.sensor_copy import erased_user_file

FULL_SCAN_SECONDS = 60 * integer("SMB_FULL_SCAN_MINUTES")
SENSOR_INTERVAL_SECONDS = integer("SENSOR_INTERVAL_SECONDS")
SENSOR_TIMEZONE = value("SENSOR_TIMEZONE")
MAX_NAMED_FILES = 20_000  # above this, a run lists its day on the share rather than looking up each name


@dg.sensor(job=sensor_files_job, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING)
def smb_sensor_files_sensor(context: dg.SensorEvaluationContext, share: SMBShareResource,
                            bronze: BronzeResource) -> dg.SensorResult:
    """New sensor files on the SMB share: predictive probing every tick, a full listing every
    SMB_FULL_SCAN_MINUTES (default once a day) for gaps of any length, new apartments and changed files.
    A run for files found by probing is given their names, so that it copies just those. Files of apartments
    erased on request are forgotten: their users stay out of the sensor's state and the runs' config."""
    found = discover(share, Cursor.from_json(context.cursor), time.time(), FULL_SCAN_SECONDS, zone=SENSOR_TIMEZONE)
    erased = ErasedApartments.read(bronze.path)
    if erased:
        apartments = bronze.apartments()
        forget(found, lambda name: erased_user_file(name, apartments, erased))
    mode = "full listing" if found.full_scan else f"predictive ({found.probes} names probed)"
    context.log.info(f"{mode}: {found.new_files} new files in {len(found.changed)} partitions, "
                     f"{found.pending} still being written")
    for _name, reason in found.rejected:
        context.log.warning(f"not a sensor file name, left out: {reason}")
    if found.future:
        context.log.warning(f"{len(found.future)} files dated more than SENSOR_FUTURE_MINUTES after now held back, "
                            f"e.g. {found.future[0]!r}")
    valid = set(daily_partitions.get_partition_keys())
    requests = [dg.RunRequest(partition_key=key, run_key=f"sensor_files:{key}:{found.cursor.version(key)}",
                              run_config=copy_config(found.names.get(key, [])))
                for key in found.changed if key in valid]
    for key in sorted(set(found.changed) - valid):
        context.log.warning(f"files dated {key} are outside the partitions ({daily_partitions.start:%Y-%m-%d} on)")
    again = requests_again(context.instance, sensor_files_job.name, found.cursor.requested_again, time.time())
    for request in again:
        context.log.warning(f"{request.partition_key}: its last run failed; requested again")
    fresh = {r.partition_key for r in requests}
    requests += [r for r in again if r.partition_key not in fresh]
    return dg.SensorResult(run_requests=requests, cursor=found.cursor.to_json())


def copy_config(names: list[str]) -> dict:
    """Run config that has the bronze copy look up just the new files the sensor found, when it knows them all
    and they are not so many that listing the day is cheaper."""
    if not names or len(names) > MAX_NAMED_FILES:
        return {}
    return {"ops": {bronze_sensor_files.op.name: {"config": {"files": sorted(names)}}}}


@dg.sensor(job=weather_files_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def sftp_weather_files_sensor(context: dg.SensorEvaluationContext, sftp: SFTPResource) -> dg.SensorResult:
    """New or changed forecast files (name, size, mtime) in SFTP_PATH."""
    seen = json.loads(context.cursor) if context.cursor else {"files": {}, "rejected": []}
    with sftp.session() as session:
        listing = sftp.list_files(session)
    valid = set(daily_partitions.get_partition_keys())
    rejected = set(seen["rejected"])  # a set: many badly named files stay one pass
    requests = []
    for remote in listing:
        version = f"{remote.size}:{remote.mtime}"
        if seen["files"].get(remote.name) == version or remote.name in rejected:
            continue
        try:
            key = parse_weather_filename(remote.name).isoformat()
            if key not in valid:
                raise FilenameError(f"{remote.name!r} is dated outside the partitions")
        except FilenameError as error:
            context.log.warning(f"forecast file left out: {error}")
            rejected.add(remote.name)
            seen["rejected"].append(remote.name)
            continue
        seen["files"][remote.name] = version
        requests.append(dg.RunRequest(partition_key=key, run_key=f"weather_files:{remote.name}:{version}"))
    again = requests_again(context.instance, weather_files_job.name, seen.setdefault("requested_again", {}),
                           time.time())
    fresh = {r.partition_key for r in requests}
    requests += [r for r in again if r.partition_key not in fresh]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))


@dg.schedule(job=weather_files_job, cron_schedule=f"{WEATHER_MIN} {WEATHER_HOUR} * * *",
             execution_timezone=TIMEZONE)
def daily_weather_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Download the day's forecast file at WEATHER_HOUR:WEATHER_MIN (the platform's time zone)."""
    local_day = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).date()
    return dg.RunRequest(partition_key=local_day.isoformat())


