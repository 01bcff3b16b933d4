"""The generated sensor files follow the contract (docs/sources.md#sensor-files) and carry learnable behaviour."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import date
from pathlib import Path
from statistics import mean

import orjson
import pytest

from demo.generator.apartments import LAYOUTS, apartments
from demo.generator.generate import GenerationRequest, generate_apartment
from sensors_io.filenames import FilenameError, parse_sensor_filename
from sensors_io.flatten import flatten_payload
from sensors_io.sensor_events import KNOWN_ROOMS

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parent / "fixtures"  # examples of the contract (docs/sources.md#sensor-files)


def cases(manifest: dict, source: str) -> dict[str, dict]:
    return {c["file"]: c for c in manifest["cases"] if c["source"] == source}


def valid_files(settings, manifest):
    """(name, parsed name, payload) of every sensor file that no malformed case touched."""
    broken = {name for name, c in cases(manifest, "share").items() if c["case"] != "counter_reset"}
    share = Path(settings["SMB_PATH"])
    for name in sorted(os.listdir(share)):
        if name not in broken:
            yield name, parse_sensor_filename(name), orjson.loads((share / name).read_bytes())


def test_reference_examples_flatten_to_contract_counts():
    assert len(flatten_payload(json.loads((EXAMPLES / "03.10.2023 1437_JimmyLoup_received.json").read_text()))[0]) == 50
    assert len(flatten_payload(json.loads((EXAMPLES / "03.10.2023 1437_JeremieVianin_received.json").read_text()))[0]) == 61


def test_inventory_row_counts_match_the_contract():
    jimmy, jeremie, third = apartments(3)
    assert (jimmy.user, jimmy.rows_per_file) == ("JimmyLoup", 50)
    assert (jeremie.user, jeremie.rows_per_file) == ("JeremieVianin", 61)
    assert third.user not in ("JimmyLoup", "JeremieVianin")


def test_every_layout_flattens_to_its_count_with_rooms_silver_knows(tmp_path):
    """The layouts beyond the two references (a studio, a family flat) hold only keys the contract knows."""
    request = GenerationRequest(start=date(2023, 10, 3), days=1, apartments=6, seed=3)
    built = apartments(request.apartments)
    assert {a.layout for a in built} == set(LAYOUTS) and len({a.rows_per_file for a in built}) == len(LAYOUTS)
    references = {built[0].layout, built[1].layout}  # their counts are the contract's (test above)
    for index, apartment in ((i, a) for i, a in enumerate(built) if a.layout not in references):
        generate_apartment(request, index, tmp_path)
        for name in sorted(n for n in os.listdir(tmp_path) if f"_{apartment.user}_" in n)[::120]:
            readings = flatten_payload(orjson.loads((tmp_path / name).read_bytes()))[0]
            assert len(readings) == apartment.rows_per_file, (apartment.layout, name)
            assert {r.room for r in readings} <= KNOWN_ROOMS, apartment.layout


def test_every_valid_file_parses_and_flattens_to_its_apartment_count(settings, generated):
    expected = {a["user"]: a["rows_per_file"] for a in generated["apartments"]}
    assert len(expected) == 3
    per_user = defaultdict(int)
    for name, parsed, payload in valid_files(settings, generated):
        assert payload["user"] == parsed.user
        assert payload["datetime"] == parsed.local_minute.strftime("%d.%m.%Y %H:%M"), name
        assert len(flatten_payload(payload)[0]) == expected[parsed.user], name
        per_user[parsed.user] += 1
    for apartment in generated["apartments"]:
        # one file per minute, minus a few missing minutes and the malformed ones
        assert 0.9 * 1440 * 3 < per_user[apartment["user"]] <= apartment["files"]


def test_minutes_are_missing_and_the_dst_day_has_no_duplicate_names(settings, generated):
    names = os.listdir(settings["SMB_PATH"])
    jimmy_29 = [n for n in names if n.startswith("29.10.2023") and "_JimmyLoup_" in n]
    assert len(jimmy_29) == len(set(jimmy_29)) < 1440


def test_counters_are_monotonic_except_the_injected_reset(settings, generated):
    reset = next(c for c in generated["cases"] if c["case"] == "counter_reset")
    reset_user = parse_sensor_filename(reset["file"]).user
    series = defaultdict(list)
    for _, parsed, payload in valid_files(settings, generated):
        for plug, reading in payload["plugs"].items():
            series[(parsed.user, plug)].append((parsed.local_minute, reading["total"]))
    drops = {key: [(t, a, b) for (t, a), (_, b) in zip(values, values[1:]) if b < a]
             for key, values in ((k, sorted(v)) for k, v in series.items())}
    assert {key for key, found in drops.items() if found} == {(reset_user, reset["plug"])}
    assert len(drops[(reset_user, reset["plug"])]) == 1


def test_batteries_drain_slowly_and_stay_in_range(settings, generated):
    first, last = {}, {}
    for _, parsed, payload in valid_files(settings, generated):
        for room, sensors in payload["doorsWindows"].items():
            key = (parsed.user, room)
            level = sensors[0]["battery"]
            assert 0 <= level <= 100
            first.setdefault(key, level)
            last[key] = level
    assert all(last[k] <= first[k] for k in first)


def test_occupancy_drives_motion_co2_and_plug_power(settings, generated):
    night, evening, co2_night, co2_evening = [], [], [], []
    for _, parsed, payload in valid_files(settings, generated):
        if parsed.user != "JimmyLoup":
            continue
        hour = parsed.local_minute.hour
        moving = payload["motions"]["Livingroom"]["motion"]
        co2 = payload["meteos"]["meteo"]["Livingroom"]["CO2"]
        if 2 <= hour < 5:
            night.append(moving), co2_night.append(co2)
        elif 20 <= hour < 22:
            evening.append(moving), co2_evening.append(co2)
    assert mean(evening) > 0.3 > 0.05 > mean(night)
    assert mean(co2_evening) > mean(co2_night) + 100


def test_generation_is_reproducible(tmp_path):
    request = GenerationRequest(start=date(2023, 10, 3), days=1, apartments=1, seed=3)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        generate_apartment(request, 0, tmp_path / folder)
    names = sorted(os.listdir(tmp_path / "a"))
    assert names == sorted(os.listdir(tmp_path / "b"))
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names[::97])


def _load(settings, name):
    return (Path(settings["SMB_PATH"]) / name).read_bytes()


def test_malformed_sensor_cases_really_are_malformed(settings, generated):
    found = {c["case"]: c["file"] for c in generated["cases"] if c["source"] == "share"}
    assert set(found) >= {"bad_json", "datetime_seconds", "missing_datetime", "null_category", "single_object_door",
                          "door_casing", "outlier_co2", "outlier_temperature", "outlier_negative_power",
                          "outlier_battery", "unknown_room", "empty_file", "not_utf8", "non_numeric_value",
                          "numeric_string", "boolean_switch", "duplicate_sensor_type", "flat_meteos",
                          "bad_filename", "counter_reset"}
    raw = {case: _load(settings, name) for case, name in found.items() if case != "counter_reset"}
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw["bad_json"])
    assert raw["empty_file"] == b""
    with pytest.raises(UnicodeDecodeError):
        raw["not_utf8"].decode("utf-8")
    with pytest.raises(FilenameError):
        parse_sensor_filename(found["bad_filename"])
    doc = {case: json.loads(content) for case, content in raw.items()
           if case not in ("bad_json", "empty_file", "not_utf8")}
    assert len(doc["datetime_seconds"]["datetime"]) == len("03.10.2023 14:37:17")
    assert "datetime" not in doc["missing_datetime"]
    assert doc["null_category"]["motions"] is None
    assert any(isinstance(v, dict) for v in doc["single_object_door"]["doorsWindows"].values())
    assert any(s["type"] == "Door" for v in doc["door_casing"]["doorsWindows"].values() for s in v)
    assert doc["outlier_co2"]["meteos"]["meteo"]["Livingroom"]["CO2"] == 250
    assert doc["outlier_temperature"]["meteos"]["meteo"]["Livingroom"]["Temperature"] == 70
    assert min(p["power"] for p in doc["outlier_negative_power"]["plugs"].values()) < 0
    assert any(s["battery"] > 100 for v in doc["outlier_battery"]["doorsWindows"].values() for s in v)
    assert "Attic" in doc["unknown_room"]["motions"]
    assert any(isinstance(p["power"], str) for p in doc["numeric_string"]["plugs"].values())
    assert any(isinstance(s["switch"], bool) for v in doc["boolean_switch"]["doorsWindows"].values() for s in v)
    assert "meteo" not in doc["flat_meteos"]["meteos"]
    # a null category or a value that is not a number skips just that category or reading (docs/sources.md#quarantine)
    for case, reason in (("null_category", "null_category"), ("non_numeric_value", "non_numeric_value")):
        readings, skipped = flatten_payload(doc[case])
        assert readings and skipped == {reason: 1}, case
    # quirks the flattening tolerates: both windows kept, string numbers parsed, booleans read as open/closed
    windows = [r for r in flatten_payload(doc["duplicate_sensor_type"])[0] if r.sensor_type == "window" and r.field == "open"]
    assert len({r.sensor_id for r in windows}) == len(windows)
    opens = [r.value for r in flatten_payload(doc["boolean_switch"])[0] if r.field == "open"]
    assert set(opens) <= {0.0, 1.0} and len(opens) > 0
