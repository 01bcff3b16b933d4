"""Faults and bad input against the real services: silver never shrinks silently, colliding files are
recorded, concurrent runs finish with correct rows, a PostgreSQL killed during a day swap leaves the previous
day intact while the run recovers by itself, a copy killed mid-file leaves no bronze file, and a share
unmounted mid-copy fails by name; retention removes only loaded files and an old day reloads with its rows.
A database of its own keeps other tests unaffected."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import psycopg2
import pytest

from domotic_assets.governance.retention import CHANGED, NOT_IN_LEDGER, bronze_retention_job
from domotic_assets.silver import store
from domotic_assets.silver.reaching_back import READINGS_REACHING_BACK
from domotic_assets.silver.sensor_events import silver_sensor_events, write_day
from resources.bronze import DEFAULT_APARTMENTS, BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from resources.smb import SMBShareResource
from sensors_io.atomic_copy import copy_atomically, keep_previous_version
from sensors_io.bronze_layout import bronze_day
from sensors_io.sensor_copy import copy_day
from sensors_io.sensor_events import parse_files

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
DAY, OTHER_DAY = "2023-10-29", "2023-10-30"
SIGNATURE = ("SELECT count(*), md5(string_agg(source_file || sensor_id || field || value::text, ',' "
             "ORDER BY source_file, sensor_id, field)) FROM silver.sensor_events WHERE partition_date = %s")


@pytest.fixture(scope="module")
def database(fresh_database) -> str:
    return fresh_database("nothing_lost")


@pytest.fixture
def bronze(bronze_of, tmp_path) -> Path:
    return bronze_of(tmp_path / "bronze", [DAY, OTHER_DAY])


def resources(database: str, bronze: Path) -> dict:
    return {"warehouse": PostgresResource(db_url=database), "bronze": BronzeResource(root=str(bronze)),
            "rules": CleaningRulesResource()}


def run(database, bronze, day=DAY, keep_missing=False, raise_on_error=True, full_reload=False
        ) -> dg.ExecuteInProcessResult:
    config = {"ops": {"silver_sensor_events": {"config": {"keep_missing_files": keep_missing,
                                                          "full_reload": full_reload}}}}
    return dg.materialize([silver_sensor_events], resources=resources(database, bronze), partition_key=day,
                          run_config=config, raise_on_error=raise_on_error)


def query(database: str, text: str, params=()) -> list[tuple]:
    with PostgresResource(db_url=database).connect() as connection, connection.cursor() as cursor:
        cursor.execute(text, params)
        return cursor.fetchall()


def checks(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.get_asset_check_evaluations()}


def test_files_gone_from_bronze_never_shrink_silver(database, bronze):
    run(database, bronze)
    before = query(database, SIGNATURE, (DAY,))
    gone = sorted(bronze.glob("jimmy/2023/10/29/1*/*.json"))[:5]
    for path in gone:
        path.unlink()
    result = run(database, bronze, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "5 files loaded earlier are no longer in bronze" in failure and gone[0].name in failure
    assert query(database, SIGNATURE, (DAY,)) == before
    kept = run(database, bronze, keep_missing=True)
    assert all(checks(kept).values()), checks(kept)
    assert query(database, SIGNATURE, (DAY,)) == before
    assert query(database, "SELECT count(*) FROM silver.file_ledger WHERE file = ANY(%s)",
                 ([p.name for p in gone],)) == [(5,)]


STATE = {  # what a day's load leaves, compared between the append and the full reload
    "ledger": "SELECT file, rows, checksum FROM silver.file_ledger WHERE partition_date = %s ORDER BY file",
    "quarantine": "SELECT file, reason, checksum FROM silver.rejected_files WHERE partition_date = %s ORDER BY file",
    "registry": "SELECT apartment, sensor_id, readings, minutes, has_battery, has_counter, battery_min, "
                "round(battery_avg::numeric, 9) FROM silver.sensor_days WHERE partition_date = %s ORDER BY 1, 2",
}


def day_state(database: str, day: str = DAY) -> dict:
    return {"rows": query(database, SIGNATURE, (day,)),
            **{name: query(database, text, (day,)) for name, text in STATE.items()}}


def correct_in_bronze(path: Path) -> None:
    """The source changed a file already loaded: bronze keeps the earlier version beside the new one."""
    payload = json.loads(path.read_text())
    plug = next(iter(payload["plugs"].values()))
    plug["power"] += 100
    keep_previous_version(path)
    path.write_text(json.dumps(payload))


def reaching_back(result: dg.ExecuteInProcessResult) -> list[str]:
    """Why the run's new readings change the gold of the day before (`READINGS_REACHING_BACK`), per day."""
    return [str(event.materialization.metadata["reason"].value) for event in result.get_asset_materialization_events()
            if event.materialization.asset_key == dg.AssetKey(READINGS_REACHING_BACK)]


def newest_change(database: str) -> int:
    """The newest change recorded for gold (silver.gold_day_changes), 0 when none."""
    return query(database, "SELECT coalesce(max(id), 0) FROM silver.gold_day_changes")[0][0]


def changes_since(database: str, newest: int) -> list[tuple]:
    """(gold day, rebuild from) of the changes recorded after `newest`, in order."""
    return query(database, "SELECT gold_day, rebuild_from FROM silver.gold_day_changes WHERE id > %s ORDER BY id",
                 (newest,))


def appended_equals_reloaded(database: str, bronze: Path, files_new: int) -> list[str]:
    """A one-day run appends exactly the new files; a full reload of the day then changes nothing. Returns why
    the append reaches back into the day before; the reload always does."""
    appended = run(database, bronze)
    metadata = appended.get_asset_materialization_events()[0].materialization.metadata
    assert (metadata["days_appended"].value, metadata["files_read"].value) == (1, files_new)
    assert all(checks(appended).values()), checks(appended)
    after_append = day_state(database)
    reloaded = run(database, bronze, full_reload=True)
    assert reloaded.get_asset_materialization_events()[0].materialization.metadata["days_appended"].value == 0
    assert day_state(database) == after_append
    assert reaching_back(reloaded) == ["reloaded: every reading is new"]
    return reaching_back(appended)


def test_appending_new_and_corrected_files_gives_the_rows_of_a_full_reload(fresh_database, bronze, tmp_path):
    """Late files of the day's first hour, then the afternoon's, then the evening's with a corrected and a broken
    file: each append equals a full reload. The first hour's readings and the corrected file reach back into the
    gold of the day before; the afternoon's do not."""
    database = fresh_database("silver_append")
    hours = {"morning": "0[1-9]", "first hour": "00", "afternoon": "1[2-9]", "evening": "2[0-3]"}
    later = {part: sorted(bronze.glob(f"*/2023/10/29/{hour}/*.json")) for part, hour in hours.items()
             if part != "morning"}
    held_back = tmp_path / "held-back"
    for path in [path for paths in later.values() for path in paths]:  # not arrived yet
        (held_back / path.relative_to(bronze)).parent.mkdir(parents=True, exist_ok=True)
        path.rename(held_back / path.relative_to(bronze))
    first_load = run(database, bronze)
    assert first_load.get_asset_materialization_events()[0].materialization.metadata[
        "days_appended"].value == 0  # a first load reloads
    assert reaching_back(first_load) == ["reloaded: every reading is new"]

    for path in later["first hour"]:
        (held_back / path.relative_to(bronze)).rename(path)
    [first_hour] = appended_equals_reloaded(database, bronze, len(later["first hour"]))
    assert re.fullmatch(r"energy series with a new reading among their first 61 good ones of 2023-10-29: \d+", first_hour)
    for path in later["afternoon"]:
        (held_back / path.relative_to(bronze)).rename(path)
    before = newest_change(database)
    assert appended_equals_reloaded(database, bronze, len(later["afternoon"])) == []  # new files only
    # the afternoon's append changes the day's gold from about an hour before its first files (the 61st good reading
    # of each energy series before its first new one), the day after's whole; the reload after it all three days
    day, next_day = date.fromisoformat(DAY), date.fromisoformat(DAY) + timedelta(days=1)
    appended = changes_since(database, before)[:2]
    rebuild_from = appended[0][1].astimezone(ZoneInfo("Europe/Zurich"))
    assert appended == [(day, rebuild_from), (next_day, None)]
    assert rebuild_from.date() == day and rebuild_from.hour in (10, 11), rebuild_from

    for path in later["evening"]:
        (held_back / path.relative_to(bronze)).rename(path)
    corrected = sorted(bronze.glob("jimmy/2023/10/29/0*/*.json"))[3]
    correct_in_bronze(corrected)
    broken = later["evening"][0].with_name(later["evening"][0].name.replace(".json", "_copy.json"))
    broken.write_bytes(b"{not json")
    assert appended_equals_reloaded(database, bronze, len(later["evening"]) + 2) == [  # new, corrected, broken files
        "files read again, their rows replaced: 1"]
    assert query(database, "SELECT count(*) FROM silver.sensor_events WHERE source_file = %s AND field = 'power' "
                           "AND value >= 100", (corrected.name,)) == [(1,)]
    assert query(database, "SELECT reason FROM silver.rejected_files WHERE file = %s", (broken.name,)) == [
        ("invalid_json",)]
    assert run(database, bronze).get_asset_materialization_events()[0].materialization.metadata[
        "files_read"].value == 0  # nothing new: nothing read


def test_a_day_reaching_back_that_a_run_recorded_but_did_not_tell_is_told_by_the_next_run(fresh_database, bronze):
    """A load records the days its readings reach back in its own transaction; a run that fails after the load
    committed, before Dagster was told, leaves the record, and the next run (with nothing new) tells it, once."""
    database = fresh_database("silver_reaching_back")
    warehouse = PostgresResource(db_url=database)
    assert reaching_back(run(database, bronze)) == ["reloaded: every reading is new"]
    with warehouse.connect() as connection, connection.cursor() as cursor:
        store.record_reaching_back(cursor, date.fromisoformat(OTHER_DAY), "a load of a run that failed")
    with pytest.raises(RuntimeError), store.take_reaching_back(warehouse) as recorded:
        assert recorded == {date.fromisoformat(OTHER_DAY): ["a load of a run that failed"]}
        raise RuntimeError("the run failed before Dagster was told")
    result = run(database, bronze)
    assert result.get_asset_materialization_events()[0].materialization.metadata["files_read"].value == 0
    assert reaching_back(result) == ["a load of a run that failed"]
    assert [event.materialization.partition for event in result.get_asset_materialization_events()
            if event.materialization.asset_key == dg.AssetKey(READINGS_REACHING_BACK)] == [OTHER_DAY]
    assert reaching_back(run(database, bronze)) == []


def test_an_append_lists_the_folders_modified_since_the_last_load_and_notices_a_folder_gone(fresh_database, bronze,
                                                                                            tmp_path):
    """The live path lists the hour folders bronze changed since the day's last load and those holding
    quarantined files (a tick at 100 apartments then costs what is new), yet a whole hour folder gone from
    bronze still fails the day by name, and a day without a recorded listing is listed whole."""
    database = fresh_database("silver_append_folders")
    hour_folders = sorted(bronze.glob("*/2023/10/29/*"))
    arriving = sorted((bronze / "jimmy/2023/10/29/12").glob("*.json"))[-1]
    arriving.rename(tmp_path / arriving.name)
    an_hour_ago = time.time() - 3600
    for folder in hour_folders:
        os.utime(folder, (an_hour_ago, an_hour_ago))
    run(database, bronze)
    (tmp_path / arriving.name).rename(arriving)
    with PostgresResource(db_url=database).connect() as connection, connection.cursor() as cursor:
        quarantined = store.quarantined_folders(cursor, date.fromisoformat(DAY))
    listed = {bronze / "jimmy/2023/10/29/12"} | {bronze / apartment / "2023/10/29" / prefix[-2:]
                                                 for apartment, prefix in quarantined}
    appended = run(database, bronze).get_asset_materialization_events()[0].materialization.metadata
    assert (appended["files_read"].value, appended["days_appended"].value) == (1, 1)
    assert appended["bronze_files_listed"].value == sum(len(list(folder.glob("*.json"))) for folder in listed)
    assert appended["bronze_files_listed"].value < len(bronze_day(bronze, date.fromisoformat(DAY)).files)

    query(database, "DELETE FROM silver.sensor_day_listings WHERE partition_date = %s RETURNING 1", (DAY,))
    whole = run(database, bronze).get_asset_materialization_events()[0].materialization.metadata
    assert whole["bronze_files_listed"].value == len(bronze_day(bronze, date.fromisoformat(DAY)).files)

    gone = bronze / "jeremie/2023/10/29/05"
    names = sorted(path.name for path in gone.glob("*.json"))
    shutil.rmtree(gone)
    result = run(database, bronze, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error.message
    assert f"{len(names)} files loaded earlier are no longer in bronze" in failure and names[0] in failure


def test_a_new_file_colliding_with_a_loaded_one_makes_the_day_reload(fresh_database, bronze):
    database = fresh_database("silver_append_collision")
    run(database, bronze)
    original = sorted(bronze.glob("jeremie/2023/10/29/12/*.json"))[0]
    earlier_name = original.with_name("0" + original.name)  # sorts first: a reload loads it, not the original
    shutil.copyfile(original, earlier_name)
    result = run(database, bronze)
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["days_appended"].value == 0 and all(checks(result).values())
    assert query(database, "SELECT file, reason FROM silver.rejected_files WHERE reason = 'duplicate_timestamp'") == [
        (original.name, "duplicate_timestamp")]


def test_the_day_checks_see_a_partition_without_its_key_index_and_a_registry_that_disagrees(fresh_database,
                                                                                           bronze):
    """Cheap forms of two checks: a day's partition must carry the unique index on the reading key (then it
    cannot hold a reading twice); an appended day's rows are counted in the device registry."""
    database = fresh_database("silver_checks")
    run(database, bronze)
    day = date.fromisoformat(DAY)
    with PostgresResource(db_url=database).connect() as connection, connection.cursor() as cursor:
        assert store.days_without_unique_key(cursor, [day]) == []
        assert store.ledger_rows_against_silver(cursor, [day], appended=[day]) == []
        cursor.execute("UPDATE silver.sensor_days SET readings = readings + 1 WHERE ctid = "
                       "(SELECT min(ctid) FROM silver.sensor_days WHERE partition_date = %s)", (day,))
        assert store.ledger_rows_against_silver(cursor, [day]) == []
        [mismatch] = store.ledger_rows_against_silver(cursor, [day], appended=[day])
        assert mismatch.startswith(f"{day}: ledger ")
        cursor.execute("ALTER TABLE silver.sensor_events DETACH PARTITION silver.sensor_events_20231029")
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index "
                       "WHERE indrelid = 'silver.sensor_events_20231029'::regclass AND indisunique")
        cursor.execute(f"DROP INDEX {cursor.fetchone()[0]}")  # a name from the catalogue
        assert store.days_without_unique_key(cursor, [day]) == [
            f"{day}: its partition has no unique index on the reading key"]
        connection.rollback()


def test_a_missing_bronze_root_is_an_error_not_an_empty_day(database, bronze):
    run(database, bronze)
    before = query(database, SIGNATURE, (DAY,))
    result = run(database, bronze.parent / "not-mounted", raise_on_error=False)
    assert not result.success
    assert "does not exist" in result.get_step_failure_events()[0].step_failure_data.error.message
    assert query(database, SIGNATURE, (DAY,)) == before


def test_two_files_with_one_instant_are_recorded_not_merged(database, bronze):
    original = sorted(bronze.glob("jeremie/2023/10/29/12/*.json"))[0]
    stuck = original.with_name(original.name[:13] + "59" + original.name[15:])
    shutil.copyfile(original, stuck)  # same content, hence the same `datetime`: a stuck device clock
    result = run(database, bronze, full_reload=True)  # the day may be loaded: the rewritten file is read again
    assert all(checks(result).values()), checks(result)
    assert query(database, "SELECT reason, detail FROM silver.rejected_files WHERE file = %s", (stuck.name,)) == [
        ("duplicate_timestamp", f"same apartment and instant as {original.name}, which is loaded")]
    assert query(database, "SELECT count(*) FROM silver.sensor_events WHERE source_file = %s", (stuck.name,)) == [(0,)]


def test_concurrent_runs_of_the_same_and_of_other_days_finish_with_correct_rows(database, bronze):
    run(database, bronze)
    run(database, bronze, OTHER_DAY)
    expected = {day: query(database, SIGNATURE, (day,)) for day in (DAY, OTHER_DAY)}
    results = []
    threads = [threading.Thread(target=lambda d=d: results.append(run(database, bronze, d)))
               for d in (DAY, DAY, OTHER_DAY, DAY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(r.success for r in results)
    assert all(all(checks(r).values()) for r in results)
    assert {day: query(database, SIGNATURE, (day,)) for day in expected} == expected


def test_a_reload_keeps_the_files_a_live_append_loaded_after_it_listed_bronze(fresh_database, bronze):
    """Silver runs of one day may overlap (a backfill reloading today beside the live appends): a reload lists
    bronze, a new file lands and an append loads it, then the reload writes. The reload keeps that file's rows
    and its ledger row (it is in bronze, not missing), and the day stays whole."""
    database, day = fresh_database("nothing_lost_overlap"), date.fromisoformat(DAY)
    late = Path(bronze_day(bronze, day).files[-1])
    held_back = late.with_name("." + late.name)  # out of sight of a listing (dot files are skipped)
    late.rename(held_back)
    run(database, bronze)
    listed_at, listing = time.time(), bronze_day(bronze, day).files  # the reload lists bronze...
    frame, outcomes = parse_files(listing, str(bronze), CleaningRulesResource().sensor_timezone)
    held_back.rename(late)
    run(database, bronze)  # ...a live append loads the file that landed meanwhile...
    appended = query(database, "SELECT count(*) FROM silver.sensor_events WHERE source_file = %s", (late.name,))
    with PostgresResource(db_url=database).connect() as connection, connection.cursor() as cursor:
        write_day(cursor, day, frame, outcomes, [], False, listed_at, bronze)  # ...then the reload writes
    assert appended[0][0] > 0
    assert query(database, "SELECT count(*) FROM silver.sensor_events WHERE source_file = %s", (late.name,)) == appended
    assert query(database, "SELECT count(*) FROM silver.file_ledger WHERE file = %s", (late.name,)) == [(1,)]
    assert all(checks(run(database, bronze)).values())


def test_silver_runs_share_bronze_and_an_erasure_or_a_retention_waits_for_them(database):
    """Silver runs hold the bronze readers' lock together (a live append beside a backfill); an erasure or a
    retention waits until none holds it, and a silver run that comes meanwhile waits behind it."""
    warehouse, order = PostgresResource(db_url=database), []

    def hold(name: str, exclusive: bool) -> threading.Thread:
        def body():
            with store.bronze_readers(warehouse, exclusive=exclusive):
                order.append(name)
        thread = threading.Thread(target=body)
        thread.start()
        return thread

    with store.bronze_readers(warehouse), store.bronze_readers(warehouse):  # two silver runs side by side
        erasure = hold("erasure", exclusive=True)
        time.sleep(1)
        late_silver = hold("late silver run", exclusive=False)
        time.sleep(1)
        assert order == [] and erasure.is_alive() and late_silver.is_alive()
        order.append("silver runs done")
    erasure.join(timeout=30)
    late_silver.join(timeout=30)
    assert order == ["silver runs done", "erasure", "late silver run"]


def test_writes_of_one_day_wait_for_each_other_and_not_for_other_days(database):
    with PostgresResource(db_url=database).connect() as holder, holder.cursor() as cursor:
        store.lock_day(cursor, "silver.sensor_events", date.fromisoformat(DAY))
        for day, free in ((OTHER_DAY, True), (DAY, False)):
            with PostgresResource(db_url=database).connect() as other, other.cursor() as waiting:
                waiting.execute("SET lock_timeout = '500ms'")
                try:
                    store.lock_day(waiting, "silver.sensor_events", date.fromisoformat(day))
                    acquired = True
                except psycopg2.errors.LockNotAvailable:
                    acquired = False
                    other.rollback()
                assert acquired is free, day


def test_postgres_killed_during_a_day_swap_keeps_the_day_and_the_run_recovers(database, bronze, postgres):
    run(database, bronze)
    before = query(database, SIGNATURE, (DAY,))
    killed = threading.Event()

    def kill_during_copy():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed.is_set():
            try:
                busy = query(database, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY \"silver\".%%'")
            except psycopg2.OperationalError:
                busy = [(0,)]
            if busy[0][0]:
                postgres._ctl("-m", "immediate", "-w", "stop")
                killed.set()
                postgres.start()
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=kill_during_copy)
    watcher.start()
    result = run(database, bronze, full_reload=True)  # the step fails, then its retry policy runs it again
    watcher.join()
    assert killed.is_set()
    assert result.success
    assert any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)
    assert query(database, SIGNATURE, (DAY,)) == before
    assert all(checks(result).values()), checks(result)


COPY_SLOWLY = """
import io, sys, time
from pathlib import Path
from sensors_io.atomic_copy import copy_atomically, keep_previous_version

class Slow(io.RawIOBase):
    def __init__(self):
        self.left = 64 << 20
    def readable(self):
        return True
    def readinto(self, buffer):
        time.sleep(0.01)
        n = min(len(buffer), self.left, 1 << 16)
        buffer[:n] = b"x" * n
        self.left -= n
        return n

copy_atomically(lambda: io.BufferedReader(Slow()), Path(sys.argv[1]), 64 << 20)
"""


def test_a_copy_killed_mid_file_leaves_no_bronze_file_and_the_next_copy_completes(bronze):
    target = bronze / "jimmy/2023/10/29/23/29.10.2023 2359_JimmyLoup_received.json"
    target.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-c", COPY_SLOWLY, str(target)], cwd=ROOT,
                               env={**os.environ})
    part = target.with_name(f".{target.name}.part-{process.pid}")
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert part.exists() and not target.exists()
    assert target.name not in {Path(p).name for p in bronze_day(bronze, date(2023, 10, 29)).files}
    copy_atomically(lambda: io.BytesIO(b"{}"), target, 2)
    assert target.read_bytes() == b"{}" and not part.exists()  # the abandoned part is cleared away


class UnmountedAfter:
    """A mounted share whose mount disappears after a number of files were read."""

    def __init__(self, folder: Path, reads: int):
        self.share, self.folder, self.reads = SMBShareResource(path=str(folder)), folder, reads

    def __getattr__(self, name):
        return getattr(self.share, name)

    def open(self, name: str):
        self.reads -= 1
        if self.reads == 0:
            self.folder.rename(self.folder.with_name("unmounted"))
        return self.share.open(name)


def test_a_share_unmounted_mid_copy_fails_by_name_and_the_next_copy_completes(settings, generated, tmp_path):
    folder = tmp_path / "share"
    shutil.copytree(settings["SMB_PATH"], folder, copy_function=shutil.copy2)
    root = tmp_path / "bronze"
    report = copy_day(UnmountedAfter(folder, 100), root, DEFAULT_APARTMENTS, DAY, time.time(), workers=1)
    assert report.copied == 99 and report.failed and "FileNotFoundError" in report.failed[0][1]
    assert not list(root.rglob(".*.part-*"))
    (tmp_path / "unmounted").rename(folder)
    again = copy_day(SMBShareResource(path=str(folder)), root, DEFAULT_APARTMENTS, DAY, time.time())
    assert again.failed == [] and again.skipped == 99 and again.copied == report.listed - 99 - len(report.rejected)


def bronze_files_of(bronze: Path, day: str) -> list[Path]:
    folder = Path(*day.split("-"))
    return sorted(p for top in bronze.iterdir() if top.is_dir() for p in (top / folder).rglob("*") if p.is_file())


def test_retention_removes_only_loaded_files_and_an_old_day_reloads_with_its_rows(database, bronze, monkeypatch):
    run(database, bronze)
    before = query(database, SIGNATURE, (DAY,))
    loaded = bronze_files_of(bronze, DAY)
    changed = loaded[0]
    changed.write_bytes(changed.read_bytes() + b" ")  # same readings, another version than the one loaded
    unloaded = loaded[-1].with_name("not-in-the-ledger.json")
    unloaded.write_bytes(b"{}")
    monkeypatch.setenv("BRONZE_RETENTION_DAYS", "0")  # every past day is old

    def retention(dry_run: bool) -> dict:
        result = bronze_retention_job.execute_in_process(
            run_config={"ops": {"apply_retention": {"config": {"dry_run": dry_run}}}},
            resources=resources(database, bronze))
        return result.output_for_node("apply_retention")

    preview = retention(dry_run=True)
    assert bronze_files_of(bronze, DAY) == sorted([*loaded, unloaded]) and preview["files_removed"] >= len(loaded) - 1
    summary = retention(dry_run=False)
    assert summary["files_removed"] == preview["files_removed"] and summary["bytes_freed"] > 0
    assert summary[f"kept: {CHANGED}"] == 1 and summary[f"kept: {NOT_IN_LEDGER}"] >= 1  # and the other day's, if unloaded
    assert bronze_files_of(bronze, DAY) == sorted([changed, unloaded])
    assert not [folder for folder in bronze.rglob("*") if folder.is_dir() and not any(folder.iterdir())]

    unloaded.unlink()
    reloaded = run(database, bronze, full_reload=True)  # no keep_missing: removed by retention is expected
    assert all(checks(reloaded).values()), checks(reloaded)
    assert query(database, SIGNATURE, (DAY,)) == before
