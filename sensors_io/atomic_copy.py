"""Copy files atomically: write `<target>.part-<pid>`, check the size, rename into place; an earlier
version of the target is kept beside it, never overwritten."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from domotic_config.private import PRIVATE_FILE, private_folder


class SizeMismatch(IOError):
    """The copy's length differs from the expected size (the source changed, or the transfer was cut)."""


BRONZE_FILE_MODE = PRIVATE_FILE  # bronze is data, and sensor files hold an API token: the platform's account only
REPLACED_MARK = ".replaced-"


def same_version(path: Path, size: int, mtime: float) -> bool:
    """True when `path` holds the source's version already (same size and modification time)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return False
    return is_version(info.st_size, info.st_mtime, size, mtime)


def is_version(held_size: int, held_mtime: float, size: int, mtime: float) -> bool:
    """True when a held copy (its size and modification time) is the source's version."""
    return held_size == size and abs(held_mtime - mtime) < 0.001


def keep_previous_version(target: Path) -> Path | None:
    """Bronze is never rewritten: an earlier version moves aside as `<name>.replaced-<its mtime>`."""
    if not target.exists():
        return None
    stamp = datetime.fromtimestamp(target.stat().st_mtime, timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    kept = target.with_name(f"{target.name}{REPLACED_MARK}{stamp}")
    os.replace(target, kept)
    return kept


def temporary_name(target: Path, pid: int | None = None) -> Path:
    return target.with_name(f".{target.name}.part-{pid or os.getpid()}")


def remove_abandoned_parts(target: Path) -> None:
    """Temporary files of copies whose process died (killed mid-file) are removed; live copies are left alone."""
    prefix = f".{target.name}.part-"  # a prefix test, not a glob: a glob compiles a pattern per file
    with os.scandir(target.parent) as entries:
        parts = [entry.path for entry in entries if entry.name.startswith(prefix)]
    for part in parts:
        pid = part.rsplit("-", 1)[1]
        if pid.isdigit() and not _alive(int(pid)):
            Path(part).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _private(path: str, flags: int) -> int:
    """Opener of the temporary copy: mode 600 from its first byte."""
    return os.open(path, flags, BRONZE_FILE_MODE)


def copy_atomically(open_source: Callable[[], BinaryIO], target: Path, expected_size: int,
                    mtime: float | None = None) -> int:
    """Stream a source into `target` via a temporary file; returns bytes written. The file is mode 600, the
    folders created for it 700.

    Raises `SizeMismatch` (and leaves nothing behind) when the copy is shorter or longer than `expected_size`.
    """
    private_folder(target.parent)
    remove_abandoned_parts(target)
    temporary = temporary_name(target)
    written = 0
    try:
        with open_source() as source, open(temporary, "wb", opener=_private) as sink:
            while chunk := source.read(1 << 20):
                sink.write(chunk)
                written += len(chunk)
        if written != expected_size:
            raise SizeMismatch(f"{target.name}: copied {written} bytes, expected {expected_size}")
        os.chmod(temporary, BRONZE_FILE_MODE)
        if mtime is not None:
            os.utime(temporary, (mtime, mtime))
        keep_previous_version(target)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return written
