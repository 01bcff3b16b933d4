"""Apartments erased on request (GDPR): bronze remembers them by digest, never by id, in
`BRONZE_ROOT/_erased_apartments.json`, and never copies their share files again. Taking an apartment back is
an explicit decision: remove its digest from that file."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

ERASED_FILE = "_erased_apartments.json"


def apartment_digest(apartment: str) -> str:
    """How an erased apartment is remembered: a digest, not its id."""
    return hashlib.sha256(apartment.encode("utf-8")).hexdigest()


def erased_digests(root: Path) -> set[str]:
    path = root / ERASED_FILE
    return set(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else set()


def remember_erased(root: Path, apartment: str) -> None:
    """Add the apartment to bronze's list of erased apartments, whose share files are never copied again."""
    digests = sorted(erased_digests(root) | {apartment_digest(apartment)})
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".{ERASED_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(digests, indent=1), encoding="utf-8")
    os.replace(temporary, root / ERASED_FILE)
