"""paramiko against the demo sFTP server: listing, download, password and host-key verification.

Configuration errors (password, unknown or mismatching key, missing or unreadable known_hosts) are reported
at once in one sentence and never retried."""

from __future__ import annotations

import re

import paramiko
import pytest

from resources.sftp import HostKeyMismatch, SFTPConfigurationError, SFTPResource, UnknownHostKey, fingerprint

pytestmark = pytest.mark.integration


@pytest.fixture
def resource(sftp_config, sftp_server):
    def make(**changes) -> SFTPResource:
        return SFTPResource(**{**sftp_config, **changes})
    return make


@pytest.fixture(scope="module")
def server_fingerprint(settings) -> str:
    entry = next(iter(paramiko.HostKeys(settings["SFTP_KNOWN_HOSTS"]).values()))
    return fingerprint(next(iter(entry.values())))


def test_lists_and_downloads_a_forecast(resource, sftp_server, tmp_path):
    sftp = resource()
    with sftp.session() as session:
        files = {f.name: f for f in sftp.list_files(session)}
        assert "Pred_2023-10-28.csv" in files
        local = tmp_path / "Pred_2023-10-28.csv"
        session.get(f"{sftp.path}/Pred_2023-10-28.csv", str(local))
    original = sftp_server.folder / "Pred_2023-10-28.csv"
    assert local.read_bytes() == original.read_bytes()
    assert files["Pred_2023-10-28.csv"].size == original.stat().st_size


def test_wrong_password_is_a_configuration_error(resource):
    with pytest.raises(SFTPConfigurationError, match="refused the password of user 'domotic'"):
        with resource(password="not-the-password").session():
            pass


def test_unknown_host_key_is_refused_unless_opted_in(resource, tmp_path, server_fingerprint):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(UnknownHostKey, match=f"is not in SFTP_KNOWN_HOSTS.*{re.escape(server_fingerprint)}"):
        with resource(known_hosts=str(empty)).session():
            pass
    with resource(known_hosts=str(empty), host_key_policy="accept-unknown").session() as session:
        assert session.listdir("/")


def test_accept_unknown_needs_no_known_hosts_file(resource, tmp_path):
    with resource(known_hosts=str(tmp_path / "absent"), host_key_policy="accept-unknown").session() as session:
        assert "Meteo2" in session.listdir("/")


def test_pinned_fingerprint_needs_no_known_hosts_file(resource, tmp_path, server_fingerprint):
    absent = str(tmp_path / "absent")
    with pytest.raises(HostKeyMismatch, match="not the pinned SFTP_HOST_FINGERPRINT"):
        with resource(known_hosts=absent, host_fingerprint="SHA256:" + "A" * 43).session():
            pass
    with resource(known_hosts=absent, host_fingerprint=server_fingerprint).session() as session:
        assert "Meteo2" in session.listdir("/")


def test_missing_known_hosts_without_a_pinned_key_is_a_configuration_error(resource, tmp_path):
    with pytest.raises(SFTPConfigurationError, match="absent does not exist, so the key of .* cannot be verified"):
        with resource(known_hosts=str(tmp_path / "absent")).session():
            pass


def test_unreadable_known_hosts_is_a_configuration_error(resource, tmp_path, server_fingerprint):
    folder = tmp_path / "known_hosts"
    folder.mkdir()
    for changes in ({}, {"host_fingerprint": server_fingerprint}):
        with pytest.raises(SFTPConfigurationError, match="cannot be read"):
            with resource(known_hosts=str(folder), **changes).session():
                pass


def test_home_in_known_hosts_is_expanded(resource, settings, tmp_path, monkeypatch):
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "known_hosts").write_bytes(open(settings["SFTP_KNOWN_HOSTS"], "rb").read())
    monkeypatch.setenv("HOME", str(tmp_path))
    with resource(known_hosts="~/.ssh/known_hosts").session() as session:
        assert "Meteo2" in session.listdir("/")


def test_session_is_confined_to_the_served_folder(resource):
    with resource().session() as session:
        assert session.listdir("/../..") == session.listdir("/")
        with pytest.raises(IOError):
            session.stat("/etc/passwd")
