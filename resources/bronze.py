"""The bronze layer's root folder (`BRONZE_ROOT`) and the apartment map."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from sensors_io.bronze_layout import REFERENCE_APARTMENTS, parse_apartment_map


class BronzeResource(dg.ConfigurableResource):
    """Where raw files are kept, and how SMB user names map to apartment ids."""

    root: str = Field(description="BRONZE_ROOT")
    apartment_map: str = Field(default=",".join(f"{u}={a}" for u, a in REFERENCE_APARTMENTS.items()),
                               description="APARTMENT_MAP: User=apartment pairs; other users map to their lower-case name")

    @property
    def path(self) -> Path:
        return Path(self.root)

    def apartments(self) -> dict[str, str]:
        return parse_apartment_map(self.apartment_map)
