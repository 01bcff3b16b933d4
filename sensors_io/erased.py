"""Apartments erased on request (GDPR): bronze remembers them by a salted digest, never by id, in
`BRONZE_ROOT/_erased_apartments.json` (mode 600), and never copies their share files again. The salt is
random per installation and kept in that file only, so a digest in the warehouse's audit cannot be recomputed
from a guessed id by someone who reads the warehouse. Taking an apartment back is an explicit decision: remove
its digest from that file."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from domotic_config.private import private_folder

ERASED_FILE = "_erased_apartments.json"


@dataclass(frozen=True)
class ErasedApartments:
    salt: str
    digests: frozenset[str] = field(default_factory=frozenset)
    unsalted: frozenset[str] = frozenset()  # plain SHA-256 digests written by earlier versions
    salt_stored: bool = True  # False: a new salt, not in the file yet

    @classmethod
    def read(cls, root: Path) -> ErasedApartments:
        """The list of `root` (a new salt when there is none yet; a list of earlier versions is kept as is)."""
        path = root / ERASED_FILE
        content = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if isinstance(content, list):
            return cls(secrets.token_hex(16), unsalted=frozenset(content), salt_stored=False)
        return cls(content.get("salt") or secrets.token_hex(16), frozenset(content.get("digests", [])),
                   frozenset(content.get("unsalted", [])), salt_stored=bool(content.get("salt")))

    def digest(self, apartment: str) -> str:
        """How an erased apartment is remembered and audited: a keyed digest, not its id."""
        return hmac.new(bytes.fromhex(self.salt), apartment.encode("utf-8"), hashlib.sha256).hexdigest()

    def holds(self, apartment: str) -> bool:
        return (self.digest(apartment) in self.digests
                or hashlib.sha256(apartment.encode("utf-8")).hexdigest() in self.unsalted)

    def __bool__(self) -> bool:
        return bool(self.digests or self.unsalted)


def installation_digest(root: Path, apartment: str) -> str:
    """The apartment's digest with the installation's salt, which is written down on first use."""
    erased = ErasedApartments.read(root)
    if not erased.salt_stored:
        _write(root, erased)
    return erased.digest(apartment)


def remember_erased(root: Path, apartment: str) -> str:
    """Add the apartment to bronze's list of erased apartments, whose share files are never copied again;
    returns its digest."""
    erased = ErasedApartments.read(root)
    digest = erased.digest(apartment)
    _write(root, ErasedApartments(erased.salt, erased.digests | {digest}, erased.unsalted))
    return digest


def _write(root: Path, erased: ErasedApartments) -> None:
    content = {"salt": erased.salt, "digests": sorted(erased.digests), "unsalted": sorted(erased.unsalted)}
    private_folder(root)
    temporary = root / f".{ERASED_FILE}.{os.getpid()}"
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        json.dump(content, out, indent=1)
    os.replace(temporary, root / ERASED_FILE)
