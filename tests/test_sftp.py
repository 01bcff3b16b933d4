"""paramiko against the demo sFTP server: listing, download, password and host-key verification."""

from __future__ import annotations

import base64
import hashlib

import paramiko
import pytest

from resources.sftp import HostKeyMismatch, SFTPResource


def resource(settings, **changes) -> SFTPResource:
    config = dict(host=settings["SFTP_HOST"], port=int(settings["SFTP_PORT"]), user=settings["SFTP_USER"],
                  password=settings["SFTP_PASSWORD"], path=settings["SFTP_PATH"],
                  known_hosts=settings["SFTP_KNOWN_HOSTS"], timeout=10)
    return SFTPResource(**{**config, **changes})


def test_lists_and_downloads_a_forecast(settings, sftp_server, tmp_path):
    sftp = resource(settings)
    with sftp.session() as session:
        files = {f.name: f for f in sftp.list_files(session)}
        assert "Pred_2023-10-28.csv" in files
        local = tmp_path / "Pred_2023-10-28.csv"
        session.get(f"{sftp.path}/Pred_2023-10-28.csv", str(local))
    original = sftp_server.folder / "Pred_2023-10-28.csv"
    assert local.read_bytes() == original.read_bytes()
    assert files["Pred_2023-10-28.csv"].size == original.stat().st_size


def test_wrong_password_is_refused(settings, sftp_server):
    with pytest.raises(paramiko.AuthenticationException):
        with resource(settings, password="not-the-password").session():
            pass


def test_unknown_host_key_is_refused_unless_opted_in(settings, sftp_server, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        with resource(settings, known_hosts=str(empty)).session():
            pass
    with resource(settings, known_hosts=str(empty), host_key_policy="accept-unknown").session() as session:
        assert session.listdir("/")


def test_pinned_fingerprint(settings, sftp_server):
    with pytest.raises(HostKeyMismatch):
        with resource(settings, known_hosts="", host_fingerprint="SHA256:" + "A" * 43).session():
            pass
    entry = next(iter(paramiko.HostKeys(settings["SFTP_KNOWN_HOSTS"]).values()))
    public = next(iter(entry.values()))
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(public.asbytes()).digest()).decode().rstrip("=")
    with resource(settings, known_hosts="", host_fingerprint=fingerprint).session() as session:
        assert "Meteo2" in session.listdir("/")


def test_session_is_confined_to_the_served_folder(settings, sftp_server):
    with resource(settings).session() as session:
        assert session.listdir("/../..") == session.listdir("/")
        with pytest.raises(IOError):
            session.stat("/etc/passwd")
