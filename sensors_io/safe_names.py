"""Names that come from outside (a share's file, an sFTP file, a run config's file list, an apartment id) and
become paths: one place that refuses what could leave its folder (docs/governance.md#hostile-input)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

MAX_NAME_BYTES = 200
APARTMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9 ._-]")


class UnsafeName(ValueError):
    """A name that cannot become a path inside its folder; the message says why."""


def unsafe_reason(name: str) -> str | None:
    """Why `name` may not be used as one file name inside a folder, or None when it may."""
    if not name:
        return "an empty name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "a name that is not UTF-8"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"a name longer than {MAX_NAME_BYTES} bytes"
    if "/" in name or "\\" in name:
        return "a path, not a file name"
    if name.startswith("."):
        return "a hidden or relative name (starts with '.')"
    if any(ord(character) < 32 or ord(character) == 127 for character in name):
        return "a control character in the name"
    return None


def path_inside(root: Path, name: str) -> Path:
    """`root / name`, refused (UnsafeName) unless `name` is one plain file name (no separator, not `.` or `..`:
    it cannot leave `root`)."""
    reason = unsafe_reason(name)
    if reason:
        raise UnsafeName(f"{name!r} is {reason}")
    return root / name


def stored_name(name: str) -> str:
    """The name under which a file is kept and reported: itself when safe, else its printable start and a
    digest of it."""
    if unsafe_reason(name) is None:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{_UNSAFE_CHARACTERS.sub('_', name.lstrip('.'))[:100]}-{digest}.unsafe"


def check_apartment_id(apartment: str) -> str:
    """An apartment id: ASCII letters, digits, `_`, `.` and `-`, starting with a letter or digit (one plain
    folder name, never `.`, `..` or a path)."""
    if not APARTMENT_ID.match(apartment):
        raise UnsafeName(f"{apartment!r} is not an apartment id (letters, digits, '_', '.' and '-', starting with a "
                         "letter or digit, at most 63 characters)")
    return apartment
