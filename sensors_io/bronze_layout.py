"""Where files live in bronze (design §3): `<apartment>/YYYY/MM/DD/HH/<name>` and `weather/YYYY/MM/DD/<name>`."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

REFERENCE_APARTMENTS = {"JimmyLoup": "jimmy", "JeremieVianin": "jeremie"}
REJECTED_FOLDER = "_rejected"


def parse_apartment_map(text: str) -> dict[str, str]:
    """`"JimmyLoup=jimmy,JeremieVianin=jeremie"` → mapping of SMB user to apartment id."""
    mapping = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        user, separator, apartment = pair.partition("=")
        if not separator or not user.strip() or not apartment.strip():
            raise ValueError(f"APARTMENT_MAP entry {pair!r} is not of the form User=apartment")
        mapping[user.strip()] = apartment.strip()
    return mapping


def apartment_id(user: str, mapping: dict[str, str]) -> str:
    """The short apartment id: from the map, else the user name in lower case (a new apartment needs no code)."""
    return mapping.get(user, user.lower())


def sensor_bronze_path(root: Path, apartment: str, local_minute: datetime, name: str) -> Path:
    return root / apartment / f"{local_minute:%Y}" / f"{local_minute:%m}" / f"{local_minute:%d}" / f"{local_minute:%H}" / name


def weather_bronze_path(root: Path, prediction_date: date, name: str) -> Path:
    return root / "weather" / f"{prediction_date:%Y}" / f"{prediction_date:%m}" / f"{prediction_date:%d}" / name


def partition_prefix(partition_key: str) -> str:
    """Sensor filenames of a local day start with `DD.MM.YYYY ` (partition key `YYYY-MM-DD`)."""
    return f"{date.fromisoformat(partition_key):%d.%m.%Y} "
