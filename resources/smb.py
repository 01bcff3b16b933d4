"""The SMB share holding the sensor files, with two interchangeable backends.

- `SMB_PATH=/mnt/share/folder`: a mounted folder (the reference's mode);
- `SMB_PATH=smb://host[:port]/share/folder`: the SMB protocol itself (smbprotocol), with `SMB_USER` and
  `SMB_PASSWORD`. The port is passed on every call, so non-445 servers work.
Both list the files that sit flat in the folder (symbolic links reported as such, never followed), stat one
name, and open one file for reading; a name is used only when it is one plain file name (sensors_io.safe_names).
"""

from __future__ import annotations

import io
import os
import stat as file_mode
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import dagster as dg
import smbclient
from pydantic import Field, PrivateAttr
from smbprotocol.exceptions import SMBOSError

from sensors_io.safe_names import path_inside, unsafe_reason
from sensors_io.share import Share, ShareFileInfo, ShareUnreachable


@dataclass(frozen=True, order=True)
class ShareFile:
    name: str
    size: int
    mtime: float
    is_link: bool = False


class MountedFolder:
    """The share mounted (or copied) as a local folder."""

    def __init__(self, folder: str):
        self.folder = Path(folder).expanduser()

    def ensure_reachable(self) -> None:
        if not self.folder.is_dir():
            raise ShareUnreachable(f"SMB_PATH {self.folder} is not a folder here (share not mounted?)")

    def list_files(self, prefix: str = "") -> list[ShareFile]:
        files = []
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and (entry.is_symlink() or entry.is_file(follow_symlinks=False)):
                    info = entry.stat(follow_symlinks=False)
                    files.append(ShareFile(entry.name, info.st_size, info.st_mtime, entry.is_symlink()))
        return files

    def stat(self, name: str) -> ShareFile | None:
        """The file or link of that name; None when there is none (or it is a folder, a pipe, a device)."""
        try:
            info = os.lstat(path_inside(self.folder, name))
        except FileNotFoundError:
            return None
        if not (file_mode.S_ISREG(info.st_mode) or file_mode.S_ISLNK(info.st_mode)):
            return None
        return ShareFile(name, info.st_size, info.st_mtime, file_mode.S_ISLNK(info.st_mode))

    def open(self, name: str) -> BinaryIO:
        """The regular file itself, never what a link points to (opened without blocking: a pipe is refused)."""
        descriptor = os.open(path_inside(self.folder, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        if not file_mode.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise OSError(f"{name!r} is not a regular file")
        return os.fdopen(descriptor, "rb")


class SMBProtocolFolder:
    """A folder of an SMB share reached with smbprotocol (SMB 2/3).

    One connection carries every request; smbprotocol fails requests when too many are outstanding for the
    server's credit window, so at most `parallel_requests` files are read at a time.
    """

    parallel_requests = 4

    def __init__(self, url: str, user: str, password: str):
        self._slots = threading.BoundedSemaphore(self.parallel_requests)
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError(f"SMB_PATH {url!r} must look like smb://host[:port]/share[/folder]")
        self.server = parts.hostname
        self.port = parts.port or 445
        self.unc = "\\\\" + self.server + "\\" + "\\".join(unquote(p) for p in parts.path.strip("/").split("/"))
        smbclient.register_session(self.server, username=user or None, password=password or None, port=self.port)

    def _path(self, name: str) -> str:
        reason = unsafe_reason(name)
        if reason:
            raise ValueError(f"{name!r} is {reason}")
        return f"{self.unc}\\{name}"

    def ensure_reachable(self) -> None:
        try:
            smbclient.stat(self.unc, port=self.port)
        except (SMBOSError, OSError, ValueError) as error:
            raise ShareUnreachable(f"SMB_PATH {self.unc} cannot be reached: {error}") from error

    def list_files(self, prefix: str = "") -> list[ShareFile]:
        pattern = fnmatch_escape(prefix) + "*" if prefix else "*"
        files = []
        for entry in smbclient.scandir(self.unc, search_pattern=pattern, port=self.port):
            if entry.is_symlink() or entry.is_file(follow_symlinks=False):
                info = entry.smb_info
                files.append(ShareFile(entry.name, info.end_of_file, _filetime(info.last_write_time),
                                       entry.is_symlink()))
        return [f for f in files if f.name.startswith(prefix)]

    def stat(self, name: str) -> ShareFile | None:
        try:
            info = smbclient.lstat(self._path(name), port=self.port)
        except (SMBOSError, FileNotFoundError):
            return None
        return ShareFile(name, info.st_size, info.st_mtime, file_mode.S_ISLNK(info.st_mode))

    def open(self, name: str) -> BinaryIO:
        """The file, streamed while it holds one of the connection's request slots (released when closed): a
        large file is never held in memory whole."""
        self._slots.acquire()
        try:
            remote = smbclient.open_file(self._path(name), mode="rb", port=self.port)
        except BaseException:
            self._slots.release()
            raise
        return io.BufferedReader(_SlotHolding(remote, self._slots), buffer_size=1 << 20)


class _SlotHolding(io.RawIOBase):
    """A remote file that gives its request slot back when closed."""

    def __init__(self, remote, slot: threading.BoundedSemaphore):
        self._remote, self._slot = remote, slot

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._remote.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._remote.close()
            finally:
                self._slot.release()
        super().close()


def fnmatch_escape(text: str) -> str:
    """SMB wildcards are `*` and `?`; sensor-name prefixes contain neither, anything else is refused."""
    if any(char in text for char in "*?<>\""):
        raise ValueError(f"prefix {text!r} holds a wildcard character")
    return text


def _filetime(value) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


class SMBShareResource(dg.ConfigurableResource):
    """The sensor-file share (`SMB_PATH`): a mounted folder or `smb://host[:port]/share/folder`."""

    path: str = Field(description="SMB_PATH: a mounted folder, or smb://host[:port]/share/folder")
    user: str = Field(default="", description="SMB_USER, for the smb:// backend")
    password: str = Field(default="", description="SMB_PASSWORD, for the smb:// backend")
    _backend: Share | None = PrivateAttr(default=None)

    @property
    def backend(self) -> Share:
        if self._backend is None:
            if self.path.startswith("smb://"):
                self._backend = SMBProtocolFolder(self.path, self.user, self.password)
            else:
                self._backend = MountedFolder(self.path)
        return self._backend

    def ensure_reachable(self) -> None:
        self.backend.ensure_reachable()

    def list_files(self, prefix: str = "") -> Sequence[ShareFileInfo]:
        return self.backend.list_files(prefix)

    def stat(self, name: str) -> ShareFileInfo | None:
        return self.backend.stat(name)

    def open(self, name: str) -> BinaryIO:
        return self.backend.open(name)
