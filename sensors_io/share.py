"""What the pure helpers need of a share: list files (optionally by name prefix), stat one, open one."""

from __future__ import annotations

from typing import BinaryIO, Protocol


class ShareFileInfo(Protocol):
    name: str
    size: int
    mtime: float


class Share(Protocol):
    def list_files(self, prefix: str = "") -> list[ShareFileInfo]: ...
    def stat(self, name: str) -> ShareFileInfo | None: ...
    def open(self, name: str) -> BinaryIO: ...
