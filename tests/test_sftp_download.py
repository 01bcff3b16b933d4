"""Downloads survive a server that dies mid-transfer; configuration errors fail at once, never retried."""

from __future__ import annotations

import os
import signal
import threading
import time

import asyncssh
import pytest

from domotic_ops import procs
from resources.sftp import DownloadFailed, SFTPConfigurationError, SFTPResource

pytestmark = pytest.mark.integration


@pytest.fixture
def sftp_resource(sftp_config, sftp_server):
    def make(**changes) -> SFTPResource:
        return SFTPResource(**{**sftp_config, **changes})
    return make


@pytest.fixture
def big_file(sftp_server):
    path = sftp_server.folder / "big-transfer.bin"
    path.write_bytes(os.urandom(1 << 20) * 48)  # 48 MiB
    yield path
    path.unlink()


# paramiko's prefetch thread dies with the server the test kills on purpose.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_server_dies_mid_transfer_leaves_nothing_then_the_next_attempt_succeeds(sftp_resource, sftp_server,
                                                                                 big_file, tmp_path):
    target = tmp_path / "bronze" / "big-transfer.bin"
    killed = threading.Event()

    def kill_during_transfer():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            partial = list(target.parent.glob(".big-transfer.bin.part-*")) if target.parent.exists() else []
            if partial and partial[0].stat().st_size > 0:
                os.kill(procs.read_pid(sftp_server.pid_file), signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.002)

    watcher = threading.Thread(target=kill_during_transfer)
    watcher.start()
    with pytest.raises(DownloadFailed, match="big-transfer.bin"):
        sftp_resource().download(big_file.name, target)
    watcher.join()
    assert killed.is_set()
    assert list(target.parent.iterdir()) == []  # no partial file, under any name
    sftp_server.start()
    assert sftp_resource().download(big_file.name, target) == big_file.stat().st_size
    assert target.read_bytes() == big_file.read_bytes()
    assert [p.name for p in target.parent.iterdir()] == ["big-transfer.bin"]


def test_a_failed_download_names_the_file_and_leaves_nothing(sftp_resource, tmp_path):
    target = tmp_path / "bronze" / "Pred_2030-01-01.csv"
    with pytest.raises(DownloadFailed, match="Pred_2030-01-01.csv"):
        sftp_resource().download(target.name, target)
    assert not target.exists() and not list(tmp_path.rglob("*.part-*"))


def _impostor_known_hosts(settings, folder) -> str:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().split()
    path = folder / "impostor_known_hosts"
    path.write_text(f"[{settings['SFTP_HOST']}]:{settings['SFTP_PORT']} {impostor[0]} {impostor[1]}\n")
    return str(path)


@pytest.mark.parametrize("case", ["impostor key", "unknown key", "no known_hosts", "wrong password"])
def test_configuration_errors_fail_at_once_without_retry(settings, sftp_resource, tmp_path, case):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    changes = {"impostor key": {"known_hosts": _impostor_known_hosts(settings, tmp_path)},
               "unknown key": {"known_hosts": str(empty)},
               "no known_hosts": {"known_hosts": str(tmp_path / "absent")},
               "wrong password": {"password": "wrong"}}[case]
    with pytest.raises(SFTPConfigurationError) as raised:  # not a DownloadFailed: no retry policy applies
        sftp_resource(**changes).download("Pred_2023-10-28.csv", tmp_path / "x.csv")
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "x.csv").exists()
