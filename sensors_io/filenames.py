"""Source filenames: `DD.MM.YYYY HHMM_<User>_received.json` (docs/sources.md#file-names) and
`Pred_YYYY-MM-DD.csv` (docs/sources.md#names-and-content)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

# ASCII digits only, and the whole name (`\Z`: `$` would accept a trailing newline).
SENSOR_NAME = re.compile(r"([0-9]{2})\.([0-9]{2})\.([0-9]{4}) ([0-9]{2})([0-9]{2})_([A-Za-z][A-Za-z0-9]*)_received\.json\Z")
WEATHER_NAME = re.compile(r"Pred_([0-9]{4})-([0-9]{2})-([0-9]{2})\.csv\Z")


SMB_USER = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")
USER_IN_NAME = re.compile(r"_([A-Za-z][A-Za-z0-9]*)_received")


def user_in_name(name: str) -> str | None:
    """The SMB user a file's name mentions, well formed or not (`…_JimmyLoup_received…`)."""
    found = USER_IN_NAME.search(name)
    return found[1] if found else None


class FilenameError(ValueError):
    """A source filename that does not follow the contract; the message says why."""


@dataclass(frozen=True)
class SensorFileName:
    """The parts of a sensor filename: local wall-clock minute (naive) and SMB user."""

    local_minute: datetime
    user: str


def sensor_filename(local_minute: datetime, user: str) -> str:
    return f"{local_minute:%d.%m.%Y %H%M}_{user}_received.json"


def parse_sensor_filename(name: str) -> SensorFileName:
    match = SENSOR_NAME.match(name)
    if not match:
        raise FilenameError(f"{name!r} does not match 'DD.MM.YYYY HHMM_<User>_received.json'")
    day, month, year, hour, minute, user = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute))
    except ValueError as error:
        raise FilenameError(f"{name!r} names an impossible time: {error}") from None
    return SensorFileName(moment, user)


def weather_filename(prediction_date: date) -> str:
    return f"Pred_{prediction_date:%Y-%m-%d}.csv"


def parse_weather_filename(name: str) -> date:
    """The prediction (issue) date of a forecast file."""
    match = WEATHER_NAME.match(name)
    if not match:
        raise FilenameError(f"{name!r} does not match 'Pred_YYYY-MM-DD.csv'")
    try:
        return date(*map(int, match.groups()))
    except ValueError as error:
        raise FilenameError(f"{name!r} names an impossible date: {error}") from None
