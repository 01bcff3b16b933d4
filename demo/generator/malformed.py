"""The malformed and quirky inputs of docs/sources.md#quarantine, injected on request into generated files.

Each case is a function of a valid payload returning the bytes to write, so that tests can assert that
the file really is malformed in the intended way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import orjson


def _dump(payload: dict) -> bytes:
    return orjson.dumps(payload)


def _first(mapping: dict) -> str:
    return next(iter(mapping))


def bad_json(p: dict) -> bytes:
    text = _dump(p)
    return text[: len(text) // 2]


def datetime_seconds(p: dict) -> bytes:
    return _dump({**p, "datetime": p["datetime"] + ":17"})


def missing_datetime(p: dict) -> bytes:
    return _dump({k: v for k, v in p.items() if k != "datetime"})


def null_category(p: dict) -> bytes:
    return _dump({**p, "motions": None})


def single_object_door(p: dict) -> bytes:
    doors = dict(p["doorsWindows"])
    room = _first(doors)
    doors[room] = doors[room][0]
    return _dump({**p, "doorsWindows": doors})


def door_casing(p: dict) -> bytes:
    q = copy.deepcopy(p)
    for sensors in q["doorsWindows"].values():
        for sensor in sensors:
            sensor["type"] = sensor["type"].capitalize()
    return _dump(q)


def _set(path: tuple, value) -> Callable[[dict], bytes]:
    def mutate(p: dict) -> bytes:
        q = copy.deepcopy(p)
        target = q
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return _dump(q)
    return mutate


def outlier_battery(p: dict) -> bytes:
    q = copy.deepcopy(p)
    q["doorsWindows"][_first(q["doorsWindows"])][0]["battery"] = 120
    return _dump(q)


def _first_plug(field: str, value) -> Callable[[dict], bytes]:
    def mutate(p: dict) -> bytes:
        q = copy.deepcopy(p)
        plug = q["plugs"][_first(q["plugs"])]
        plug[field] = value(plug[field]) if callable(value) else value
        return _dump(q)
    return mutate


def unknown_room(p: dict) -> bytes:
    q = copy.deepcopy(p)
    q["motions"]["Attic"] = {"motion": False, "light": 3, "temperature": 17.2}
    return _dump(q)


def empty_file(p: dict) -> bytes:
    return b""


def not_utf8(p: dict) -> bytes:
    q = copy.deepcopy(p)
    q["motions"]["Küche"] = {"motion": False, "light": 12, "temperature": 21.0}
    return orjson.dumps(q).decode("utf-8").encode("latin-1")


def boolean_switch(p: dict) -> bytes:
    q = copy.deepcopy(p)
    for sensors in q["doorsWindows"].values():
        for sensor in sensors:
            sensor["switch"] = sensor["switch"] == "on"
    return _dump(q)


def duplicate_sensor_type(p: dict) -> bytes:
    q = copy.deepcopy(p)
    room = _first(q["doorsWindows"])
    q["doorsWindows"][room].append({"type": "window", "switch": "on", "battery": 77, "defense": 0})
    return _dump(q)


def flat_meteos(p: dict) -> bytes:
    return _dump({**p, "meteos": p["meteos"]["meteo"]})


SENSOR_CASES: dict[str, Callable[[dict], bytes]] = {
    "bad_json": bad_json,
    "datetime_seconds": datetime_seconds,
    "missing_datetime": missing_datetime,
    "null_category": null_category,
    "single_object_door": single_object_door,
    "door_casing": door_casing,
    "outlier_co2": _set(("meteos", "meteo", "Livingroom", "CO2"), 250),
    "outlier_temperature": _set(("meteos", "meteo", "Livingroom", "Temperature"), 70.0),
    "outlier_negative_power": _first_plug("power", -12.5),
    "outlier_battery": outlier_battery,
    "unknown_room": unknown_room,
    "empty_file": empty_file,
    "not_utf8": not_utf8,
    "non_numeric_value": _first_plug("power", "n/a"),
    "numeric_string": _first_plug("power", lambda v: str(v)),
    "boolean_switch": boolean_switch,
    "duplicate_sensor_type": duplicate_sensor_type,
    "flat_meteos": flat_meteos,
}
# Written under a name that does not follow the contract (content valid).
BAD_SENSOR_NAME = "bad_filename"


def bad_sensor_name(name: str) -> str:
    """`03.10.2023 1437_JimmyLoup_received.json` → `03.10.2023 14h37_JimmyLoup_received.json`."""
    date_part, rest = name.split(" ", 1)
    return f"{date_part} {rest[:2]}h{rest[2:]}"


def bad_time_rows(csv_text: str) -> str:
    """Break the `Time` of a few data rows (unparseable, impossible date, empty)."""
    lines = csv_text.split("\n")
    for index, bad in zip((5, 50, 500, 1000, 2000), ("not a time", "2023-10-32 00:00:00+00:00", "",
                                                     "yesterday", "2023-02-30 12:00:00+00:00")):
        lines[index] = bad + lines[index][lines[index].index(","):]
    return "\n".join(lines)


def drop_unit_column(csv_text: str) -> str:
    return "\n".join(line.rsplit(",", 1)[0] for line in csv_text.split("\n") if line) + "\n"
