"""The daily weather schedule's partition (ordinary and DST days) and the sFTP weather sensor."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from domotic_assets import sources_definitions
from domotic_assets.ingestion.sensors import daily_weather_schedule, sftp_weather_files_sensor
from domotic_assets.timing import after_weather_fetch
from resources.sftp import SFTPResource

ZURICH = ZoneInfo("Europe/Zurich")


def evaluate(moment: datetime) -> dg.ScheduleExecutionData:
    context = dg.build_schedule_context(scheduled_execution_time=moment,
                                        repository_def=sources_definitions.defs.get_repository_def())
    return daily_weather_schedule.evaluate_tick(context)


@pytest.mark.parametrize("day", ["2023-10-03", "2023-03-26", "2023-10-29", "2024-03-31", "2023-12-31"])
@pytest.mark.component
def test_schedule_requests_the_local_day(day):
    assert daily_weather_schedule.cron_schedule == "30 7 * * *"
    assert daily_weather_schedule.execution_timezone == "Europe/Zurich"
    moment = datetime.fromisoformat(f"{day}T07:30").replace(tzinfo=ZURICH)
    request = evaluate(moment)
    assert [r.partition_key for r in request.run_requests] == [day]


@pytest.mark.component
def test_schedule_just_after_midnight_local_time_is_that_local_day():
    moment = datetime(2023, 10, 29, 0, 30, tzinfo=ZURICH)  # 22:30 UTC the day before
    request = evaluate(moment)
    assert request.run_requests[0].partition_key == "2023-10-29"


@pytest.mark.integration
def test_weather_sensor_requests_new_and_changed_files(sftp_config, sftp_server, generated):
    resource = SFTPResource(**sftp_config)

    def tick(cursor):
        return sftp_weather_files_sensor(dg.build_sensor_context(cursor=cursor, instance=dg.DagsterInstance.ephemeral(),
                                                                 resources={"sftp": resource}))

    first = tick(None)
    keys = sorted(r.partition_key for r in first.run_requests)
    # the three days, the 2022 file and the empty and unit-less files; the badly named file is left out
    assert keys == ["2022-12-31", "2023-10-26", "2023-10-27", "2023-10-28", "2023-10-29", "2023-10-30"]
    assert tick(first.cursor).run_requests == []
    path = sftp_server.folder / "Pred_2023-10-29.csv"
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 60))
    changed = tick(first.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2023-10-29"]
    assert changed.run_requests[0].run_key not in {r.run_key for r in first.run_requests}


@pytest.mark.unit
def test_what_follows_the_weather_fetch_is_timed_from_its_hour():
    assert after_weather_fetch(30) == "0 8 * * *"          # the defaults: 07:30
    assert after_weather_fetch(90, hour=23, minute=30) == "0 1 * * *"
    assert after_weather_fetch(180, hour=9, minute=45) == "45 12 * * *"
