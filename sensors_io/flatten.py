"""Flattening contract (docs/sources.md#flattening): one sensor JSON payload → one reading per (sensor, field).

Fixes the reference's defects: two sensors of the same type in one room keep distinct `sensor_id`s, a
boolean `switch` is read correctly, numbers given as strings are parsed. A reading that cannot be read (not
a number, NaN/Infinity, a bad switch), a `null` category or a sensor whose key is too long is skipped and
counted by reason, and the rest of the file loads (docs/sources.md#quarantine); a structural problem raises
`FlattenError` with a reason.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import NamedTuple

ROOM_MAP = {"Bhroom": "Bathroom", "Bdroom": "Bedroom", "Livingroom": "Living Room"}
# Longest room, appliance or contact-type key read (real ones are under 20): the keys become `room`, `sensor_type`
# and `sensor_id` (two keys), which PostgreSQL indexes; even in 4-byte characters they stay far below its
# index-row limit (2,704 bytes), which a longer key would exceed, failing the whole day.
MAX_KEY_CHARS = 100

# raw key -> (field, unit) per category
PLUG_FIELDS = {"power": ("power", "W"), "total": ("total", "Wh"), "temperature": ("temperature", "C")}
CONTACT_FIELDS = {"battery": ("battery", "%")}
MOTION_FIELDS = {"light": ("light", "lux"), "temperature": ("temperature", "C")}
METEO_FIELDS = {"Temperature": ("temperature_c", "C"), "CO2": ("co2_ppm", "ppm"), "Humidity": ("humidity_pct", "%"),
                "Noise": ("noise_db", "dB"), "Pressure": ("pressure_hpa", "hPa"),
                "AbsolutePressure": ("abs_pressure_hpa", "hPa"), "battery_percent": ("battery", "%")}
HUMIDITY_FIELDS = {"temperature": ("temperature", "C"), "humidity": ("humidity", "%"), "devicePower": ("battery", "%")}
CONSUMPTION_FIELDS = {"total_power": ("total_power", "W"),
                      **{f"power{i}": (f"power{i}", "W") for i in (1, 2, 3)},
                      **{f"current{i}": (f"current{i}", "A") for i in (1, 2, 3)},
                      **{f"voltage{i}": (f"voltage{i}", "V") for i in (1, 2, 3)}}


class Reading(NamedTuple):
    room: str
    sensor_type: str
    sensor_id: str
    field: str
    value: float
    unit: str


# A Reading from a tuple of its values: half the time of the NamedTuple's own constructor, once per reading.
NEW_READING = tuple.__new__


class FlattenError(ValueError):
    """The payload cannot be flattened; `reason` is a short code, the message the detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def normalise_room(raw: str) -> str:
    return ROOM_MAP.get(raw, raw)


def to_number(value, where: str) -> float:
    """A JSON number, a boolean or a numeric string as float; anything else is a FlattenError."""
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    if kind is bool:
        return 1.0 if value else 0.0
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise FlattenError("non_numeric_value", f"{where} = {value!r} is not a number")


def switch_is_on(value, where: str) -> float:
    """Contact `switch`: "on"/"off" (any case) or a boolean; missing counts as closed."""
    if value is None or isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str) and value.strip().lower() in ("on", "off"):
        return 1.0 if value.strip().lower() == "on" else 0.0
    raise FlattenError("bad_switch", f"{where} = {value!r} is neither on/off nor a boolean")


def _category(payload: dict, name: str, skipped: Counter) -> dict:
    value = payload.get(name, {})
    if value is None:
        skipped["null_category"] += 1
        return {}
    if name == "meteos" and isinstance(value, dict) and "meteo" in value:
        value = value["meteo"]
    if not isinstance(value, dict):
        raise FlattenError("bad_category", f"category {name!r} is {type(value).__name__}, expected an object")
    too_long = [key for key in value if len(_no_nul(key, f"{name}.{key!r}")) > MAX_KEY_CHARS]
    if too_long:
        skipped["key_too_long"] += len(too_long)
        value = {key: sensor for key, sensor in value.items() if len(key) <= MAX_KEY_CHARS}
    return value


def _no_nul(text: str, where: str) -> str:
    """Text that becomes a key column: a NUL character would make PostgreSQL refuse the whole day."""
    if "\x00" in text:
        raise FlattenError("nul_character", f"{where} holds a NUL character")
    return text


def _reading(readings: list[Reading], skipped: Counter, room: str, sensor_type: str, sensor_id: str, field: str,
             unit: str, convert, raw, where: str) -> None:
    """Append one reading, `convert(raw, where)`; an unreadable or non-finite value skips just this reading
    (counted by reason)."""
    try:
        value = convert(raw, where)
    except FlattenError as error:
        skipped[error.reason] += 1
        return
    if not math.isfinite(value):
        skipped["not_finite"] += 1
        return
    readings.append(NEW_READING(Reading, (room, sensor_type, sensor_id, field, value, unit)))


def _fields(readings: list[Reading], skipped: Counter, raw_room: str, sensor_type: str, sensor_id: str, obj,
            mapping: dict, where: str) -> None:
    if not isinstance(obj, dict):
        raise FlattenError("bad_sensor", f"{where} is {type(obj).__name__}, expected an object")
    room = normalise_room(raw_room)
    for key, (field, unit) in mapping.items():
        raw = obj.get(key)
        if raw is None:
            continue
        kind = type(raw)
        if kind is int or kind is float and math.isfinite(raw):  # most readings: a JSON number, nothing to skip
            readings.append(NEW_READING(Reading, (room, sensor_type, sensor_id, field, float(raw), unit)))
        else:
            _reading(readings, skipped, room, sensor_type, sensor_id, field, unit, to_number, raw, f"{where}.{key}")


def flatten_payload(payload) -> tuple[list[Reading], Counter]:
    """All readings of one file, in a stable order, and the readings or categories skipped, by reason.

    A structural problem (not an object, a NUL in a key) raises `FlattenError`: the file is quarantined.
    """
    if not isinstance(payload, dict):
        raise FlattenError("bad_payload", f"top level is {type(payload).__name__}, expected an object")
    readings: list[Reading] = []
    skipped: Counter = Counter()
    for raw, plug in _category(payload, "plugs", skipped).items():
        _fields(readings, skipped, raw, "plug", f"plug:{raw}", plug, PLUG_FIELDS, f"plugs.{raw}")
    for raw, sensors in _category(payload, "doorsWindows", skipped).items():
        sensors = [sensors] if isinstance(sensors, dict) else sensors
        if not isinstance(sensors, list):
            raise FlattenError("bad_sensor", f"doorsWindows.{raw} is {type(sensors).__name__}, expected a list")
        seen: dict[str, int] = {}
        for index, sensor in enumerate(sensors):
            where = f"doorsWindows.{raw}[{index}]"
            if not isinstance(sensor, dict):
                raise FlattenError("bad_sensor", f"{where} is {type(sensor).__name__}, expected an object")
            kind = _no_nul(str(sensor.get("type") or "door").strip().lower(), f"{where}.type")
            if len(kind) > MAX_KEY_CHARS:
                skipped["key_too_long"] += 1
                continue
            seen[kind] = seen.get(kind, 0) + 1
            sensor_id = f"{kind}:{raw}" + (f":{seen[kind]}" if seen[kind] > 1 else "")
            _reading(readings, skipped, normalise_room(raw), kind, sensor_id, "open", "bool", switch_is_on,
                     sensor.get("switch"), f"{where}.switch")
            _fields(readings, skipped, raw, kind, sensor_id, sensor, CONTACT_FIELDS, where)
    for raw, motion in _category(payload, "motions", skipped).items():
        where = f"motions.{raw}"
        if isinstance(motion, dict) and motion.get("motion") is not None:
            _reading(readings, skipped, normalise_room(raw), "motion", f"motion:{raw}", "motion", "bool", to_number,
                     motion["motion"], f"{where}.motion")
        _fields(readings, skipped, raw, "motion", f"motion:{raw}", motion, MOTION_FIELDS, where)
    for raw, station in _category(payload, "meteos", skipped).items():
        _fields(readings, skipped, raw, "meteo", f"meteo:{raw}", station, METEO_FIELDS, f"meteos.meteo.{raw}")
    for raw, sensor in _category(payload, "humidities", skipped).items():
        _fields(readings, skipped, raw, "humidity", f"humidity:{raw}", sensor, HUMIDITY_FIELDS, f"humidities.{raw}")
    for raw, meter in _category(payload, "consumptions", skipped).items():
        _fields(readings, skipped, raw, "consumption", f"consumption:{raw}", meter, CONSUMPTION_FIELDS,
                f"consumptions.{raw}")
    return readings, skipped
