"""What the pure helpers need of a share: check it is there, list files (optionally by name prefix), stat
one, open one."""

from __future__ import annotations

from typing import BinaryIO, Protocol


class ShareFileInfo(Protocol):
    name: str
    size: int
    mtime: float


class ShareUnreachable(OSError):
    """The share (or its mount) is not there: an error to show, never "no new files"."""


class Share(Protocol):
    def ensure_reachable(self) -> None: ...
    def list_files(self, prefix: str = "") -> list[ShareFileInfo]: ...
    def stat(self, name: str) -> ShareFileInfo | None: ...
    def open(self, name: str) -> BinaryIO: ...
