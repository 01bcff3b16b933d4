"""What the pure helpers need of a share: check it is there, list files (optionally by name prefix), stat
one, open one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO, Protocol


class ShareFileInfo(Protocol):
    """Read-only members, so that frozen dataclasses qualify."""

    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime(self) -> float: ...
    @property
    def is_link(self) -> bool: ...  # a symbolic link: never followed, never copied


class ShareUnreachable(OSError):
    """The share (or its mount) is not there: an error to show, never "no new files"."""


class Share(Protocol):
    def ensure_reachable(self) -> None: ...
    def list_files(self, prefix: str = "") -> Sequence[ShareFileInfo]: ...
    def stat(self, name: str) -> ShareFileInfo | None: ...
    def open(self, name: str) -> BinaryIO: ...
