"""Ticks of `smb_sensor_files_sensor` (built with dg.build_sensor_context) against a mounted-folder share."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta

import dagster as dg
import pytest

from domotic_assets.ingestion.sensors import smb_sensor_files_sensor
from resources.bronze import BronzeResource
from resources.smb import SMBShareResource
from sensors_io.discovery import Cursor
from sensors_io.erased import remember_erased
from sensors_io.filenames import sensor_filename
from sensors_io.share import ShareUnreachable

pytestmark = pytest.mark.component

START = datetime(2023, 10, 3, 8, 0)


def write(share, user: str, minute: datetime, age: float = 3600, content: bytes = b'{"user": "x"}') -> str:
    name = sensor_filename(minute, user)
    path = share / name
    path.write_bytes(content)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return name


def tick(share, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, instance=dg.DagsterInstance.ephemeral(),
                                      resources={"share": SMBShareResource(path=str(share)),
                                                 "bronze": BronzeResource(root=str(share.parent / "bronze"))})
    return smb_sensor_files_sensor(context)


def keys(result: dg.SensorResult) -> list[str]:
    return [request.partition_key for request in result.run_requests]


@pytest.fixture
def share(tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    for offset in range(30):
        write(folder, "JimmyLoup", START + timedelta(minutes=offset))
        write(folder, "JeremieVianin", START + timedelta(minutes=offset))
    return folder


def test_first_tick_lists_everything_then_nothing_new_is_cheap(share):
    first = tick(share, None)
    assert keys(first) == ["2023-10-03"]
    cursor = Cursor.from_json(first.cursor)
    assert cursor.last_minute == {"JimmyLoup": "2023-10-03T08:29", "JeremieVianin": "2023-10-03T08:29"}
    assert cursor.partitions["2023-10-03"][0] == 60
    second = tick(share, first.cursor)
    assert second.run_requests == []
    assert Cursor.from_json(second.cursor).partitions == cursor.partitions


def test_one_new_minute_requests_its_partition_with_a_new_version(share):
    first = tick(share, None)
    write(share, "JimmyLoup", START + timedelta(minutes=30))
    second = tick(share, first.cursor)
    assert keys(second) == ["2023-10-03"]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert Cursor.from_json(second.cursor).last_minute["JimmyLoup"] == "2023-10-03T08:30"
    assert tick(share, second.cursor).run_requests == []


def test_a_probing_tick_names_its_new_files_for_the_copy_and_a_full_listing_does_not(share):
    first = tick(share, None)
    assert first.run_requests[0].run_config == {}  # the run lists its day
    names = [write(share, user, START + timedelta(minutes=30)) for user in ("JimmyLoup", "JeremieVianin")]
    second = tick(share, first.cursor)
    assert second.run_requests[0].run_config == {"ops": {"bronze_sensor_files": {"config": {"files": sorted(names)}}}}


def test_a_three_hour_gap_is_found_without_waiting_for_the_full_listing(share):
    first = tick(share, None)
    after_gap = START + timedelta(minutes=29 + 180)
    for offset in range(5):
        write(share, "JimmyLoup", after_gap + timedelta(minutes=offset))
    write(share, "JimmyLoup", datetime(2023, 10, 4, 9, 0))  # and a later day
    predictive = tick(share, first.cursor)  # beyond the lookahead: one gap listing finds them
    assert keys(predictive) == ["2023-10-03", "2023-10-04"]
    cursor = Cursor.from_json(predictive.cursor)
    assert cursor.partitions["2023-10-03"][0] == 65
    assert cursor.last_minute["JimmyLoup"] == "2023-10-04T09:00"
    cursor.last_full_scan -= 2 * 86400  # the nightly full listing agrees: nothing to run again
    assert tick(share, cursor.to_json()).run_requests == []


def test_an_unmounted_share_fails_the_tick_visibly(share, tmp_path):
    first = tick(share, None)
    with pytest.raises(ShareUnreachable, match="not a folder here"):
        tick(tmp_path / "unmounted", first.cursor)


def test_a_new_apartment_is_found_and_then_followed(share):
    first = tick(share, None)
    write(share, "AnnaMeier", START)
    cursor = Cursor.from_json(first.cursor)
    cursor.last_full_scan = 0
    found = tick(share, cursor.to_json())
    assert "AnnaMeier" in Cursor.from_json(found.cursor).last_minute
    write(share, "AnnaMeier", START + timedelta(minutes=1))
    followed = tick(share, found.cursor)
    assert keys(followed) == ["2023-10-03"]
    assert Cursor.from_json(followed.cursor).last_minute["AnnaMeier"] == "2023-10-03T08:01"


def test_a_file_still_being_written_is_pending_then_counted_once(share):
    first = tick(share, None)
    name = write(share, "JimmyLoup", START + timedelta(minutes=30), age=0)
    writing = tick(share, first.cursor)
    assert writing.run_requests == []
    assert Cursor.from_json(writing.cursor).pending == [name]
    old = time.time() - 60
    os.utime(share / name, (old, old))
    settled = tick(share, writing.cursor)
    assert keys(settled) == ["2023-10-03"]
    cursor = Cursor.from_json(settled.cursor)
    assert cursor.pending == [] and cursor.partitions["2023-10-03"][0] == 61
    assert tick(share, settled.cursor).run_requests == []
    cursor.last_full_scan = 0  # a full listing agrees with the counts: no further run
    assert tick(share, cursor.to_json()).run_requests == []


def test_a_corrected_file_runs_again_and_bad_names_are_reported(share):
    first = tick(share, None)
    write(share, "JimmyLoup", START + timedelta(minutes=5), age=120, content=b'{"user": "JimmyLoup", "fixed": 1}')
    (share / "notes.txt").write_text("not a sensor file")
    cursor = Cursor.from_json(first.cursor)
    cursor.last_full_scan = 0
    rescanned = tick(share, cursor.to_json())
    assert keys(rescanned) == ["2023-10-03"]
    assert rescanned.run_requests[0].run_key != first.run_requests[0].run_key
    assert Cursor.from_json(rescanned.cursor).rejected == ["notes.txt"]


def test_cursor_only_moves_forward(share):
    first = tick(share, None)
    (share / sensor_filename(START + timedelta(minutes=29), "JimmyLoup")).unlink()
    cursor = Cursor.from_json(first.cursor)
    cursor.last_full_scan = 0
    after = Cursor.from_json(tick(share, cursor.to_json()).cursor)
    assert after.last_minute["JimmyLoup"] == "2023-10-03T08:29"


def test_a_partition_whose_run_failed_is_requested_again_after_a_back_off(share, tmp_path, monkeypatch):
    from domotic_assets import sources_definitions
    from domotic_assets.ingestion import recovery

    with dg.instance_for_test() as instance:
        job = sources_definitions.defs.resolve_job_def("sensor_files_job")
        for name, text in {"DB_URL": "postgresql+psycopg2://nobody@127.0.0.1:1/none", "SMB_PATH": str(share),
                           "BRONZE_ROOT": str(tmp_path / "bronze")}.items():
            monkeypatch.setenv(name, text)  # the run's config is resolved when it is created
        failed = instance.create_run_for_job(job_def=job, tags={"dagster/partition": "2023-10-03"})
        instance.report_run_failed(failed)  # what the run monitor records when a run dies

        def tick_on(cursor):
            context = dg.build_sensor_context(cursor=cursor, instance=instance,
                                              resources={"share": SMBShareResource(path=str(share)),
                                                         "bronze": BronzeResource(root=str(tmp_path / "bronze"))})
            return smb_sensor_files_sensor(context)

        first = tick_on(None)  # the new files' request; the failure is too recent to request again
        assert [r.run_key for r in first.run_requests if "again" in r.run_key] == []
        monkeypatch.setattr(recovery, "RETRY_AFTER_SECONDS", 0)
        second = tick_on(first.cursor)
        assert [(r.partition_key, r.tags["domotic/requested_again_after"]) for r in second.run_requests] == [
            ("2023-10-03", failed.run_id)]
        assert Cursor.from_json(second.cursor).requested_again == {"2023-10-03": 1}
        for _ in range(recovery.MAX_REQUESTS_AGAIN):
            second = tick_on(second.cursor)
        assert Cursor.from_json(second.cursor).requested_again == {"2023-10-03": recovery.MAX_REQUESTS_AGAIN}
        assert tick_on(second.cursor).run_requests == []  # at most three times per failure streak


def test_the_files_of_an_erased_apartment_stay_out_of_the_sensor_s_state_and_runs(tmp_path):
    """`jimmy` erased: its user's files (a bad name too) name no request and are not in the cursor, which
    Dagster stores; the other apartment's files are requested as before."""
    share = tmp_path / "share"
    share.mkdir()
    for minute in range(3):
        write(share, "JimmyLoup", START + timedelta(minutes=minute))
        write(share, "JeremieVianin", START + timedelta(minutes=minute))
    (share / "03.10.2023 0800_JimmyLoup_received.json.bak").write_text("{}")
    remember_erased(tmp_path / "bronze", "jimmy")
    first = tick(share, None)
    write(share, "JimmyLoup", START + timedelta(minutes=3))
    write(share, "JeremieVianin", START + timedelta(minutes=3))
    second = tick(share, first.cursor)
    assert keys(first) == keys(second) == ["2023-10-03"]
    for result in (first, second):
        assert "JimmyLoup" not in result.cursor and "JeremieVianin" in result.cursor
        assert "JimmyLoup" not in json.dumps([request.run_config for request in result.run_requests])
    assert "JeremieVianin" in json.dumps(second.run_requests[0].run_config)
