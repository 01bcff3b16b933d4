"""Copy files atomically: write `<target>.part-<pid>`, check the size, rename into place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class SizeMismatch(IOError):
    """The copy's length differs from the expected size (the source changed, or the transfer was cut)."""


def temporary_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.part-{os.getpid()}")


def copy_atomically(open_source: Callable[[], BinaryIO], target: Path, expected_size: int,
                    mtime: float | None = None) -> int:
    """Stream a source into `target` via a temporary file; returns bytes written.

    Raises `SizeMismatch` (and leaves nothing behind) when the copy is shorter or longer than `expected_size`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(target)
    written = 0
    try:
        with open_source() as source, open(temporary, "wb") as sink:
            while chunk := source.read(1 << 20):
                sink.write(chunk)
                written += len(chunk)
        if written != expected_size:
            raise SizeMismatch(f"{target.name}: copied {written} bytes, expected {expected_size}")
        if mtime is not None:
            os.utime(temporary, (mtime, mtime))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return written
