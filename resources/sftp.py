"""The weather server: sFTP through paramiko, with the server's host key verified."""

from __future__ import annotations

import base64
import hashlib
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import paramiko
from pydantic import Field

from domotic_config import variables as config
from sensors_io.atomic_copy import copy_atomically

HOST_KEY_POLICIES = ("verify", "accept-unknown")


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    mtime: int


class DownloadFailed(IOError):
    """A download failed on a network or server error; the message names the file and the error."""


class SFTPConfigurationError(Exception):
    """A setting is wrong (host key, known_hosts, password): retrying cannot help. The message, one sentence,
    says what to change. Deliberately not an `OSError`, so downloads never retry it."""


class UnknownHostKey(SFTPConfigurationError):
    """The server's key is neither in known_hosts nor pinned, and unknown keys are not accepted."""


class HostKeyMismatch(SFTPConfigurationError):
    """The server presented a key that is not the pinned fingerprint."""


def fingerprint(key: paramiko.PKey) -> str:
    """`SHA256:…` as OpenSSH prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


class _PinnedFingerprintPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, pinned: str):
        self.pinned = "SHA256:" + pinned.removeprefix("SHA256:").rstrip("=")

    def missing_host_key(self, client, hostname, key):
        if fingerprint(key) != self.pinned:
            raise HostKeyMismatch(f"the host key of {hostname} has fingerprint {fingerprint(key)}, not the pinned "
                                  f"SFTP_HOST_FINGERPRINT {self.pinned}: check the server's key out of band")


class _RejectUnknownPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: Path | None):
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):
        raise UnknownHostKey(f"the host key of {hostname} ({key.get_name()} {fingerprint(key)}) is not in "
                             f"SFTP_KNOWN_HOSTS {self.known_hosts}: verify it out of band, then add it there or set "
                             f"SFTP_HOST_FINGERPRINT={fingerprint(key)}")


class SFTPResource(dg.ConfigurableResource):
    """Lists and downloads the forecast files in `SFTP_PATH`.

    The server's key must be in `known_hosts` (used when the file exists) or match `host_fingerprint`
    (SHA256:…); unknown keys are accepted only with `host_key_policy="accept-unknown"` (an explicit opt-in,
    logged as a warning). Configuration errors raise `SFTPConfigurationError` at once, without retries.
    """

    host: str = Field(description="SFTP_HOST")
    port: int = Field(default=int(config.default("SFTP_PORT")), description="SFTP_PORT")
    user: str = Field(description="SFTP_USER")
    password: str = Field(description="SFTP_PASSWORD")
    path: str = Field(default=config.default("SFTP_PATH"), description="SFTP_PATH")
    known_hosts: str = Field(default=config.default("SFTP_KNOWN_HOSTS"),
                             description="SFTP_KNOWN_HOSTS: known_hosts file holding the server's key")
    host_fingerprint: str = Field(default=config.default("SFTP_HOST_FINGERPRINT"),
                                  description="SFTP_HOST_FINGERPRINT: pinned SHA256 fingerprint of the server's key")
    host_key_policy: str = Field(default=config.default("SFTP_HOST_KEY_POLICY"),
                                 description='SFTP_HOST_KEY_POLICY: "verify" or "accept-unknown"')
    timeout: float = 30.0

    @property
    def known_hosts_path(self) -> Path | None:
        return Path(self.known_hosts).expanduser() if self.known_hosts else None

    def _ssh_client(self) -> paramiko.SSHClient:
        if self.host_key_policy not in HOST_KEY_POLICIES:
            raise SFTPConfigurationError(f"SFTP_HOST_KEY_POLICY is {self.host_key_policy!r}: use "
                                         f"{' or '.join(HOST_KEY_POLICIES)}")
        client = paramiko.SSHClient()
        known_hosts = self.known_hosts_path
        if known_hosts and known_hosts.exists():
            try:
                client.load_host_keys(str(known_hosts))
            except (OSError, paramiko.SSHException, ValueError) as error:
                raise SFTPConfigurationError(f"SFTP_KNOWN_HOSTS {known_hosts} cannot be read ({error}): fix the file "
                                             "or point SFTP_KNOWN_HOSTS at a readable one") from error
        elif not self.host_fingerprint and self.host_key_policy == "verify":
            raise SFTPConfigurationError(
                f"SFTP_KNOWN_HOSTS {known_hosts or '(empty)'} does not exist, so the key of {self.host}:{self.port} "
                f"cannot be verified: add the key there (ssh-keyscan -p {self.port} {self.host}, checked out of "
                "band), or set SFTP_HOST_FINGERPRINT, or SFTP_HOST_KEY_POLICY=accept-unknown")
        if self.host_fingerprint:
            client.set_missing_host_key_policy(_PinnedFingerprintPolicy(self.host_fingerprint))
        elif self.host_key_policy == "accept-unknown":
            client.set_missing_host_key_policy(paramiko.WarningPolicy())
        else:
            client.set_missing_host_key_policy(_RejectUnknownPolicy(known_hosts))
        return client

    @contextmanager
    def session(self) -> Iterator[paramiko.SFTPClient]:
        """An authenticated sFTP session (password only: no agent, no local keys)."""
        client = self._ssh_client()
        try:
            try:
                client.connect(self.host, port=self.port, username=self.user, password=self.password,
                               allow_agent=False, look_for_keys=False, timeout=self.timeout,
                               banner_timeout=self.timeout, auth_timeout=self.timeout)
            except paramiko.BadHostKeyException as error:
                raise SFTPConfigurationError(
                    f"the host key of {self.host}:{self.port} ({fingerprint(error.key)}) differs from the one in "
                    f"SFTP_KNOWN_HOSTS {self.known_hosts_path}: if the server's key really changed, replace that "
                    "entry after checking the new key out of band") from error
            except paramiko.AuthenticationException as error:
                raise SFTPConfigurationError(f"{self.host}:{self.port} refused the password of user {self.user!r}: "
                                             "check SFTP_USER and SFTP_PASSWORD") from error
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is None:
                raise RuntimeError(f"the sFTP session to {self.host}:{self.port} has no channel")
            channel.settimeout(self.timeout)
            yield sftp
        finally:
            client.close()

    def list_files(self, sftp: paramiko.SFTPClient) -> list[RemoteFile]:
        """Regular files of `path` with their size and modification time."""
        return sorted((RemoteFile(entry.filename, entry.st_size or 0, int(entry.st_mtime or 0))
                       for entry in sftp.listdir_attr(self.path) if stat.S_ISREG(entry.st_mode or 0)),
                      key=lambda f: f.name)

    def download(self, name: str, target: Path) -> int:
        """Download `path/name` to `target` atomically (temporary name, size check, rename); returns the bytes
        written. A network error raises `DownloadFailed` naming the file (the caller's retry policy decides
        when to try again); a configuration error raises `SFTPConfigurationError`."""
        remote = f"{self.path.rstrip('/')}/{name}"
        try:
            with self.session() as sftp:
                info = sftp.stat(remote)

                def open_remote():
                    handle = sftp.open(remote, "rb")
                    handle.prefetch(info.st_size)
                    return handle

                return copy_atomically(open_remote, target, info.st_size or 0, info.st_mtime)
        except (OSError, EOFError, paramiko.SSHException) as error:  # SFTPConfigurationError is none of these
            raise DownloadFailed(f"{remote}: {error!r}") from error
