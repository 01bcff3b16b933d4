"""The weather server: sFTP through paramiko, with the server's host key verified."""

from __future__ import annotations

import base64
import hashlib
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import paramiko
from pydantic import Field

from sensors_io.atomic_copy import copy_atomically


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    mtime: int


class DownloadFailed(IOError):
    """Every attempt to download a file failed; the message names the file and the last error."""


class HostKeyMismatch(paramiko.SSHException):
    """The server presented a key that is neither in known_hosts nor the pinned fingerprint."""


class _PinnedFingerprintPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, fingerprint: str):
        self.fingerprint = fingerprint.removeprefix("SHA256:").rstrip("=")

    def missing_host_key(self, client, hostname, key):
        actual = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
        if actual != self.fingerprint:
            raise HostKeyMismatch(f"host key of {hostname} has fingerprint SHA256:{actual}, "
                                  "which is not the pinned SFTP_HOST_FINGERPRINT")


class SFTPResource(dg.ConfigurableResource):
    """Lists and downloads the forecast files in `SFTP_PATH`.

    The server's key must be in `known_hosts` or match `host_fingerprint` (SHA256:…); unknown keys are
    accepted only with `host_key_policy="accept-unknown"` (an explicit opt-in, logged as a warning).
    """

    host: str
    port: int = 22
    user: str
    password: str
    path: str = "/Meteo2"
    known_hosts: str = Field(default="", description="known_hosts file holding the server's key")
    host_fingerprint: str = Field(default="", description="pinned SHA256 fingerprint of the server's key")
    host_key_policy: str = Field(default="verify", description='"verify" (default) or "accept-unknown"')
    max_retries: int = 3
    retry_delay: int = 600
    timeout: float = 30.0

    def _ssh_client(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        if self.known_hosts:
            client.load_host_keys(self.known_hosts)
        if self.host_key_policy not in ("verify", "accept-unknown"):
            raise ValueError(f"SFTP_HOST_KEY_POLICY is {self.host_key_policy!r}; use 'verify' or 'accept-unknown'")
        if self.host_fingerprint:
            client.set_missing_host_key_policy(_PinnedFingerprintPolicy(self.host_fingerprint))
        elif self.host_key_policy == "accept-unknown":
            client.set_missing_host_key_policy(paramiko.WarningPolicy())
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        return client

    @contextmanager
    def session(self) -> Iterator[paramiko.SFTPClient]:
        """An authenticated sFTP session (password only: no agent, no local keys)."""
        client = self._ssh_client()
        try:
            client.connect(self.host, port=self.port, username=self.user, password=self.password,
                           allow_agent=False, look_for_keys=False, timeout=self.timeout,
                           banner_timeout=self.timeout, auth_timeout=self.timeout)
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self.timeout)
            yield sftp
        finally:
            client.close()

    def list_files(self, sftp: paramiko.SFTPClient) -> list[RemoteFile]:
        """Regular files of `path` with their size and modification time."""
        return sorted((RemoteFile(entry.filename, entry.st_size or 0, int(entry.st_mtime or 0))
                       for entry in sftp.listdir_attr(self.path) if stat.S_ISREG(entry.st_mode or 0)),
                      key=lambda f: f.name)

    def download(self, name: str, target: Path, log: Callable[[str], None] = print,
                 sleep: Callable[[float], None] = time.sleep) -> int:
        """Download `path/name` to `target` atomically (temporary name, size check, rename), retrying
        `max_retries` times with a doubling delay from `retry_delay`. Returns the bytes written."""
        remote = f"{self.path.rstrip('/')}/{name}"
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as sftp:
                    info = sftp.stat(remote)

                    def open_remote():
                        handle = sftp.open(remote, "rb")
                        handle.prefetch(info.st_size)
                        return handle

                    return copy_atomically(open_remote, target, info.st_size or 0, info.st_mtime)
            except (paramiko.AuthenticationException, paramiko.BadHostKeyException, HostKeyMismatch):
                raise  # configuration errors: retrying cannot help
            except (OSError, EOFError, paramiko.SSHException) as error:
                if attempt == attempts:
                    raise DownloadFailed(f"{remote}: all {attempts} attempts failed; last error: {error!r}") from error
                delay = self.retry_delay * 2 ** (attempt - 1)
                log(f"{remote}: attempt {attempt}/{attempts} failed ({error!r}); retrying in {delay} s")
                sleep(delay)
        raise AssertionError("unreachable")
