"""What the platform writes that holds data or secrets is its account's alone, whatever the umask: files mode
600 in folders of mode 700 (bronze, logs, backups, the embedded cluster, Dagster's home), and the runtime
folder lets nobody else list it (docs/operations.md#file-permissions)."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import pytest

from domotic_config.private import private_folder
from domotic_config.settings import load_settings
from domotic_ops import procs
from domotic_ops.backup import backup_urls, dump
from domotic_ops.dagster_service import DagsterService
from sensors_io.atomic_copy import copy_atomically


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def open_umask():
    """The loosest usual umask: whatever the platform writes would be readable by every account."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.unit
def test_private_folders_are_created_700_at_every_level_and_existing_ones_are_left(tmp_path, open_umask):
    (tmp_path / "shared").mkdir(mode=0o755)
    created = private_folder(tmp_path / "shared" / "a" / "b")
    assert created == tmp_path / "shared" / "a" / "b"
    assert [mode(tmp_path / "shared" / "a"), mode(created)] == [0o700, 0o700]
    assert mode(tmp_path / "shared") == 0o755  # not the platform's to change
    assert private_folder(created) == created  # again: nothing to do


@pytest.mark.unit
def test_bronze_files_are_600_in_folders_of_700(tmp_path, open_umask):
    root = tmp_path / "bronze"
    target = root / "jimmy" / "2023" / "10" / "29" / "14" / "29.10.2023 1437_JimmyLoup_received.json"
    copy_atomically(lambda: io.BytesIO(b"{}"), target, 2, time.time())
    assert mode(target) == 0o600
    folders = [root, *(parent for parent in target.parents if root in parent.parents)]
    assert {folder: mode(folder) for folder in folders} == {folder: 0o700 for folder in folders}


@pytest.mark.unit
def test_the_runtime_folder_cannot_be_listed_by_other_accounts(tmp_path, open_umask):
    runtime = tmp_path / "runtime"
    load_settings(runtime=runtime, read_environment=False)
    assert mode(runtime) & 0o066 == 0 and mode(runtime / "secrets.env") == 0o600
    runtime.chmod(0o755)  # a runtime folder made before
    load_settings(runtime=runtime, read_environment=False)
    assert mode(runtime) & 0o066 == 0


@pytest.mark.unit
def test_service_logs_are_600_in_a_folder_of_700_and_services_write_privately(tmp_path, open_umask):
    log, pids = tmp_path / "runtime" / "logs" / "probe.log", tmp_path / "runtime" / "pids" / "probe.pid"
    log.parent.mkdir(parents=True)
    log.write_text("an earlier log\n")  # 644 under this umask
    pid = procs.spawn([sys.executable, "-c", "import os; print(oct(os.umask(0)))"], pids, log)
    assert procs.wait_until(lambda: not procs.is_alive(pid), 30)
    assert mode(log) == 0o600 and mode(log.parent) == 0o700 and mode(pids.parent) == 0o700
    assert log.read_text().splitlines() == ["an earlier log", "0o77"]  # what a service writes is private too


@pytest.mark.integration
def test_backups_are_600_in_a_folder_of_700(settings, fresh_database, tmp_path, open_umask):
    fresh_database("permissions")
    urls, options = backup_urls(settings)
    dumped = dump(urls[0].rsplit("/", 1)[0] + "/permissions", tmp_path / "backups", extra=options)
    assert mode(dumped) == 0o600 and mode(dumped.parent) == 0o700


@pytest.mark.integration
def test_the_embedded_cluster_folder_and_its_log_are_private(postgres):
    assert mode(postgres.base) == 0o700 and mode(postgres.socket_dir) == 0o700 and mode(postgres.data_dir) == 0o700
    assert mode(postgres.log_file) == 0o600


@pytest.mark.unit
def test_dagster_home_is_private(settings, tmp_path, monkeypatch, open_umask):
    home = tmp_path / "dagster_home"
    service = DagsterService(settings)
    service.home, service.logs, service.pids = home, tmp_path / "logs", tmp_path / "pids"
    monkeypatch.setattr(procs, "spawn", lambda *args, **kwargs: 0)
    monkeypatch.setattr(service, "answers", lambda: True)
    service.start(timeout=1)
    assert mode(home) == 0o700
