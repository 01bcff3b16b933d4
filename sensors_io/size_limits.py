"""Source files are read whole only within their size limit (SENSOR_FILE_MAX_BYTES, WEATHER_FILE_MAX_BYTES): a
larger file is quarantined as `too_large` from its size alone, never read into memory (docs/sources.md#quarantine)."""

from __future__ import annotations

import os


def read_within(path: str | os.PathLike, max_bytes: int) -> tuple[bytes | None, int]:
    """(content, size) of a file; content None, and the file not read, when it is over `max_bytes`."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        return (file.read() if size <= max_bytes else None), size


def too_large(size: int, max_bytes: int, variable: str) -> str:
    """The quarantine detail of a file over the limit `variable` sets."""
    return f"{size} bytes, over {variable} ({max_bytes})"
