"""The bronze layer's root folder (`BRONZE_ROOT`) and the apartment map."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from domotic_config import variables as config
from sensors_io.bronze_layout import parse_apartment_map

DEFAULT_APARTMENTS = parse_apartment_map(config.default("APARTMENT_MAP"))


class BronzeResource(dg.ConfigurableResource):
    """Where raw files are kept, and how SMB user names map to apartment ids."""

    root: str = Field(description="BRONZE_ROOT")
    apartment_map: str = Field(default=config.default("APARTMENT_MAP"),
                               description="APARTMENT_MAP: User=apartment pairs; other users map to their lower-case name")

    @property
    def path(self) -> Path:
        return Path(self.root).expanduser()

    def apartments(self) -> dict[str, str]:
        return parse_apartment_map(self.apartment_map)
