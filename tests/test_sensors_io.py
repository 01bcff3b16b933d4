"""Unit tests of the pure helpers (`sensors_io`): filenames, the flattening contract, weather cleaning,
the bronze layout, timestamps and the discovery cursor. No service, no Dagster instance."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from domotic_assets.silver.sensor_events import rows_per_file_outliers
from resources.smb import MountedFolder
from sensors_io.bronze_layout import (
    apartment_id,
    bronze_day,
    parse_apartment_map,
    partition_prefix,
    sensor_bronze_folder,
    weather_bronze_path,
)
from sensors_io.discovery import Cursor, discover
from sensors_io.filenames import (
    FilenameError,
    parse_sensor_filename,
    parse_weather_filename,
    sensor_filename,
    weather_filename,
)
from sensors_io.flatten import FlattenError, flatten_payload
from sensors_io.outliers import is_outlier
from sensors_io.safe_names import UnsafeName, stored_name, unsafe_reason
from sensors_io.sensor_events import (
    READING_KEY,
    FileOutcome,
    TimestampOutOfRange,
    collect,
    local_timestamp,
    parse_files,
    submit_files,
)
from sensors_io.share import ShareUnreachable
from sensors_io.weather_clean import WeatherFileError, clean_forecast

pytestmark = pytest.mark.unit
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ZURICH = ZoneInfo("Europe/Zurich")


# --- filenames -------------------------------------------------------------------------------------------

def test_sensor_filename_round_trip():
    name = "03.10.2023 1437_JimmyLoup_received.json"
    parsed = parse_sensor_filename(name)
    assert parsed.local_minute == datetime(2023, 10, 3, 14, 37) and parsed.user == "JimmyLoup"
    assert sensor_filename(parsed.local_minute, parsed.user) == name


@pytest.mark.parametrize("name, why", [
    ("03.10.2023 1437_JimmyLoup_received.txt", "does not match"),
    ("3.10.2023 1437_JimmyLoup_received.json", "does not match"),
    ("31.02.2023 1437_JimmyLoup_received.json", "impossible time"),
    ("03.10.2023 2460_JimmyLoup_received.json", "impossible time"),
])
def test_bad_sensor_filenames_say_why(name, why):
    with pytest.raises(FilenameError, match=why):
        parse_sensor_filename(name)


def test_weather_filename_round_trip_and_errors():
    assert parse_weather_filename(weather_filename(date(2023, 10, 3))) == date(2023, 10, 3)
    with pytest.raises(FilenameError, match="impossible date"):
        parse_weather_filename("Pred_2023-02-30.csv")
    with pytest.raises(FilenameError, match="does not match"):
        parse_weather_filename("Pred_2023-10-03.csv.bak")


# --- flattening (docs/sources.md#flattening) ----------------------------------------------------------------

@pytest.mark.parametrize("user, rows", [("JimmyLoup", 50), ("JeremieVianin", 61)])
def test_contract_examples_flatten_to_their_row_counts(user, rows):
    payload = orjson.loads((FIXTURES / f"03.10.2023 1437_{user}_received.json").read_bytes())
    readings, skipped = flatten_payload(payload)
    assert len(readings) == rows and not skipped
    assert len({(r.sensor_id, r.field) for r in readings}) == rows


def test_two_windows_of_one_room_are_two_sensors_and_switches_are_read():
    payload = {"doorsWindows": {"Bdroom": [{"type": "window", "switch": "ON", "battery": 90},
                                           {"type": "Window", "switch": False, "battery": "80"}]}}
    readings, _ = flatten_payload(payload)
    opens = [(r.sensor_id, r.value) for r in readings if r.field == "open"]
    assert opens == [("window:Bdroom", 1.0), ("window:Bdroom:2", 0.0)]
    assert {r.room for r in readings} == {"Bedroom"}
    assert [r.value for r in readings if r.field == "battery"] == [90.0, 80.0]


@pytest.mark.parametrize("payload, reason", [
    ([], "bad_payload"),
    ({"plugs": []}, "bad_category"),
    ({"plugs": {"Kit\x00chen": {"power": 1}}}, "nul_character"),
    ({"doorsWindows": {"Hall": [{"type": "do\x00or", "switch": "on"}]}}, "nul_character"),
])
def test_structurally_broken_payloads_raise_with_a_reason(payload, reason):
    with pytest.raises(FlattenError) as raised:
        flatten_payload(payload)
    assert raised.value.reason == reason


def test_unreadable_readings_and_null_categories_are_skipped_and_counted():
    payload = {"plugs": {"Kitchen": {"power": "lots", "total": 12, "temperature": float("nan")},
                         "Office": {"power": float("inf"), "total": 3}},
               "doorsWindows": {"Hall": [{"type": "door", "switch": "ajar", "battery": 80}]},
               "motions": None}
    readings, skipped = flatten_payload(payload)
    assert [(r.sensor_id, r.field, r.value) for r in readings] == [
        ("plug:Kitchen", "total", 12.0), ("plug:Office", "total", 3.0), ("door:Hall", "battery", 80.0)]
    assert skipped == {"non_numeric_value": 1, "not_finite": 2, "bad_switch": 1, "null_category": 1}


def test_flat_meteos_and_numbers_as_strings_are_accepted():
    readings, _ = flatten_payload({"meteos": {"Outdoor": {"Temperature": "12.5", "CO2": 410}}})
    assert [(r.field, r.value) for r in readings] == [("temperature_c", 12.5), ("co2_ppm", 410.0)]


def test_outliers_are_flagged_per_sensor_type_and_field():
    assert is_outlier("plug", "power", -1.0)
    assert not is_outlier("plug", "power", 100.0)
    assert is_outlier("meteo", "co2_ppm", 100.0)
    assert is_outlier("unknown", "x", float("nan"))
    assert not is_outlier("unknown", "x", 1e12)


# --- time ----------------------------------------------------------------------------------------------

def test_local_datetime_is_read_in_the_sensor_zone_across_dst():
    assert local_timestamp("29.10.2023 01:30", ZURICH) == datetime(2023, 10, 28, 23, 30, tzinfo=timezone.utc)
    assert local_timestamp("29.10.2023 04:30", ZURICH) == datetime(2023, 10, 29, 3, 30, tzinfo=timezone.utc)
    assert local_timestamp("03.10.2023 14:37", ZoneInfo("UTC")) == datetime(2023, 10, 3, 14, 37, tzinfo=timezone.utc)
    assert local_timestamp(None, ZURICH) is None
    with pytest.raises(TimestampOutOfRange):
        local_timestamp("01.01.0001 00:30", ZURICH)
    assert local_timestamp("yesterday", ZURICH) is None


# --- weather cleaning (docs/sources.md#weather-cleaning) ---------------------------------------------------------------

def test_forecast_example_is_cleaned_with_dropped_rows_counted():
    content = (FIXTURES / "Pred_2023-10-03.csv").read_bytes()
    frame, dropped, encoding = clean_forecast(content, date(2023, 10, 3), 2023, "Pred_2023-10-03.csv")
    assert frame.height > 0 and encoding == "utf-8"
    assert frame["prediction_date"].unique().to_list() == [date(2023, 10, 3)]
    assert frame.select("timestamp", "site", "prediction", "measurement").is_duplicated().sum() == 0
    assert (frame["value"] != -99999.0).all()


def test_forecast_rules_latin1_sentinels_bad_times_and_old_years():
    header = "Time,Value,Prediction,Site,Measurement,Unit\n"
    rows = ["2023-10-03 00:00:00+00:00,12.5,0,Aadorf / Tänikon,PRED_T_2M_ctrl,°C",
            "2023-10-03 00:00:00+00:00,-99999.0,0,Sion,PRED_GLOB_ctrl,W/m2",
            "not a time,1.0,1,Sion,PRED_T_2M_ctrl,°C",
            "2022-12-31 23:00:00+00:00,1.0,1,Sion,PRED_T_2M_ctrl,°C",
            "2023-10-03 01:00:00+00:00,5.0,1,Sion,PRED_DURSUN_ctrl,min",
            "2023-10-03 01:00:00+00:00,75.0,1,Sion,PRED_T_2M_ctrl,°C"]
    content = (header + "\n".join(rows) + "\n").encode("latin-1")
    frame, dropped, encoding = clean_forecast(content, date(2023, 10, 3), 2023, "Pred_2023-10-03.csv")
    assert encoding == "latin-1"
    assert frame["site"].to_list() == ["Aadorf / Tänikon", "Sion"]
    assert frame["is_outlier"].to_list() == [False, True]
    assert dropped == {"sentinel": 1, "bad_time": 1, "before_min_year": 1, "other_measurement": 1}


def test_forecast_without_its_columns_is_rejected_and_an_empty_one_is_empty():
    with pytest.raises(WeatherFileError) as raised:
        clean_forecast(b"Time,Value\n2023-10-03 00:00:00+00:00,1\n", date(2023, 10, 3), 2023, "x.csv")
    assert raised.value.reason == "missing_columns"
    frame, dropped, encoding = clean_forecast(b"", date(2023, 10, 3), 2023, "x.csv")
    assert frame.height == 0 and encoding == "empty"


# --- bronze layout ---------------------------------------------------------------------------------------

def test_bronze_layout_and_apartment_map(tmp_path):
    mapping = parse_apartment_map(" JimmyLoup=jimmy , JeremieVianin=jeremie ")
    assert apartment_id("JimmyLoup", mapping) == "jimmy" and apartment_id("NewFlat", mapping) == "newflat"
    assert apartment_id("Weather", mapping) == "weather-apartment"  # never bronze's own weather folder
    with pytest.raises(ValueError, match="not of the form"):
        parse_apartment_map("JimmyLoup")
    minute = datetime(2023, 10, 3, 14, 37)
    path = sensor_bronze_folder(tmp_path, "jimmy", minute) / "a.json"
    assert path == tmp_path / "jimmy/2023/10/03/14/a.json"
    assert weather_bronze_path(tmp_path, date(2023, 10, 3), "p.csv") == tmp_path / "weather/2023/10/03/p.csv"
    assert partition_prefix("2023-10-03") == "03.10.2023 "
    for target in (path, tmp_path / "jimmy/2023/10/03/14/.a.json.part-1", tmp_path / "weather/2023/10/03/x.json",
                   tmp_path / "jeremie/2023/10/04/00/b.json"):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("{}")
    assert bronze_day(tmp_path, date(2023, 10, 3)).files == [str(path)]
    assert bronze_day(tmp_path / "absent", date(2023, 10, 3)).files == []
    earlier = tmp_path / "jimmy/2023/10/03/09/c.json"
    for target in (earlier, earlier.with_name("c.json.replaced-20231003T090000.000000Z")):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("{}")
    day = bronze_day(tmp_path, date(2023, 10, 3))
    assert day.files == [str(earlier), str(path)] and day.corrected == {"c.json"}
    assert day.folders == {("jimmy", "03.10.2023 09"), ("jimmy", "03.10.2023 14")} and day.listed is None
    os.utime(earlier.parent, (1_000, 1_000))
    recent = bronze_day(tmp_path, date(2023, 10, 3), modified_since=2_000)
    assert recent.files == [str(path)] and recent.listed == {("jimmy", "03.10.2023 14")}
    assert recent.folders == day.folders
    assert bronze_day(tmp_path, date(2023, 10, 3), 2_000, also={("jimmy", "03.10.2023 09")}).files == day.files


# --- discovery ---------------------------------------------------------------------------------------------

T0 = datetime(2023, 10, 3, 14, 11, tzinfo=timezone.utc).timestamp()  # the tests' clock: just after their files
AHEAD = 100 * 365 * 1440  # minutes from T0 to beyond 2099

@dataclass(frozen=True)
class FakeFile:
    name: str
    size: int
    mtime: float


class FakeShare:
    """An in-memory share (the `Share` protocol): list, stat, and a count of the calls."""

    def __init__(self, files: dict[str, FakeFile]):
        self.files, self.listings, self.stats = files, 0, 0

    def ensure_reachable(self) -> None:
        if self.files is None:
            raise ShareUnreachable("the share is gone")

    def list_files(self, prefix: str = "") -> list[FakeFile]:
        self.listings += 1
        return [f for f in self.files.values() if f.name.startswith(prefix)]

    def stat(self, name: str) -> FakeFile | None:
        self.stats += 1
        return self.files.get(name)

    def open(self, name: str):
        raise NotImplementedError


def add(share: FakeShare, minute: datetime, user: str = "JimmyLoup", mtime: float = 0.0, size: int = 100) -> str:
    name = sensor_filename(minute, user)
    share.files[name] = FakeFile(name, size, mtime)
    return name


def test_discovery_lists_once_then_probes_only_the_next_minutes():
    share = FakeShare({})
    for minute in range(10):
        add(share, datetime(2023, 10, 3, 14, minute))
    share.files["notes.txt"] = FakeFile("notes.txt", 1, 0.0)
    first = discover(share, Cursor(), now=T0, full_scan_interval=3600)
    assert first.full_scan and first.changed == ["2023-10-03"] and first.new_files == 10
    assert [name for name, _ in first.rejected] == ["notes.txt"]
    add(share, datetime(2023, 10, 3, 14, 10), mtime=T0 - 10)
    listings = share.listings
    second = discover(share, first.cursor, now=T0, full_scan_interval=3600)
    assert not second.full_scan and share.listings == listings
    assert second.changed == ["2023-10-03"] and second.new_files == 1
    assert second.cursor.version("2023-10-03") != first.cursor.version("2023-10-03")
    assert first.names == {} and second.names == {"2023-10-03": [sensor_filename(datetime(2023, 10, 3, 14, 10),
                                                                                 "JimmyLoup")]}


def test_discovery_waits_for_files_still_being_written_and_counts_them_once():
    share = FakeShare({})
    add(share, datetime(2023, 10, 3, 14, 0))
    cursor = discover(share, Cursor(), now=T0, full_scan_interval=3600).cursor
    add(share, datetime(2023, 10, 3, 14, 1), mtime=T0 - 1)
    busy = discover(share, cursor, now=T0, full_scan_interval=3600)
    assert busy.changed == [] and busy.pending == 1
    settled = discover(share, busy.cursor, now=T0 + 10, full_scan_interval=3600)
    assert settled.changed == ["2023-10-03"] and settled.new_files == 1
    again = discover(share, settled.cursor, now=T0 + 20, full_scan_interval=3600)
    assert again.changed == [] and again.new_files == 0


def test_probing_stops_at_the_present_minute_and_a_tick_cut_short_starts_with_the_others_next_time():
    """An apartment up to date costs the names of the present minute and the next, not `lookahead` misses; a
    tick that reaches `max_probes` leaves apartments behind, and the next tick probes them first."""
    share = FakeShare({})
    users = ["Anna", "Bert", "Carl", "Dora"]
    for user in users:
        for minute in range(11):
            add(share, datetime(2023, 10, 3, 14, minute), user)
    cursor = discover(share, Cursor(), now=T0, full_scan_interval=3600).cursor
    quiet = discover(share, cursor, now=T0, full_scan_interval=3600)  # 14:11: nothing yet
    assert quiet.new_files == 0 and quiet.probes == 2 * len(users)  # 14:11 and 14:12 of each
    for user in users:
        add(share, datetime(2023, 10, 3, 14, 11), user)
    cut_short = discover(share, quiet.cursor, now=T0 + 60, full_scan_interval=3600, max_probes=5)
    assert cut_short.probes == 5 and cut_short.new_files == 2
    assert {user for user in users if cut_short.cursor.last_minute[user] == "2023-10-03T14:11"} == {"Anna", "Bert"}
    rest = discover(share, cut_short.cursor, now=T0 + 60, full_scan_interval=3600, max_probes=5)
    assert rest.new_files == 2 and all(rest.cursor.last_minute[user] == "2023-10-03T14:11" for user in users)


def test_a_long_gap_is_found_by_the_next_full_listing():
    share = FakeShare({})
    add(share, datetime(2023, 10, 3, 14, 0))
    cursor = discover(share, Cursor(), now=T0, full_scan_interval=3600).cursor
    add(share, datetime(2023, 10, 3, 18, 0))  # four hours later: beyond the predictive lookahead
    quiet = discover(share, cursor, now=T0 + 100, full_scan_interval=3600, gap_interval=1e9)
    assert quiet.changed == []  # no gap listing allowed in this test: only the full listing finds it
    full = discover(share, cursor, now=T0 + 3600, full_scan_interval=3600)
    assert full.full_scan and full.changed == ["2023-10-03"]
    assert Cursor.from_json(full.cursor.to_json()) == full.cursor


def epoch(local: datetime, zone: str = "Europe/Zurich") -> float:
    return local.replace(tzinfo=ZoneInfo(zone)).timestamp()


def test_the_spring_forward_hour_does_not_stop_the_prober():
    share = FakeShare({})
    for minute in range(50, 60):  # 31.03.2024: local clocks jump from 01:59 to 03:00
        add(share, datetime(2024, 3, 31, 1, minute))
    start = epoch(datetime(2024, 3, 31, 2, 30) - timedelta(hours=1))
    cursor = discover(share, Cursor(), now=start, full_scan_interval=86400, zone="Europe/Zurich").cursor
    for minute in range(0, 20):
        add(share, datetime(2024, 3, 31, 3, minute))
    now = epoch(datetime(2024, 3, 31, 3, 20))
    found = discover(share, cursor, now=now, full_scan_interval=86400, zone="Europe/Zurich")
    assert not found.full_scan and found.changed == ["2024-03-31"] and found.new_files == 20
    assert found.cursor.last_minute["JimmyLoup"] == "2024-03-31T03:19"
    again = discover(share, found.cursor, now=now + 30, full_scan_interval=86400, zone="Europe/Zurich")
    assert again.changed == [] and again.new_files == 0


def test_an_unreachable_share_is_an_error_not_an_empty_tick():
    share = FakeShare({})
    add(share, datetime(2023, 10, 3, 14, 0))
    cursor = discover(share, Cursor(), now=T0, full_scan_interval=3600).cursor
    share.files = None
    with pytest.raises(ShareUnreachable):
        discover(share, cursor, now=T0 + 30, full_scan_interval=3600)


# --- one file never fails a day ------------------------------------------------------------------------------

EXAMPLE = (FIXTURES / "03.10.2023 1437_JimmyLoup_received.json").read_bytes()


def test_bad_files_are_quarantined_one_by_one_and_the_rest_loads(tmp_path):
    folder = tmp_path / "jimmy/2023/10/03/14"
    folder.mkdir(parents=True)
    payload = orjson.loads(EXAMPLE)
    cases = {
        "bom": b"\xef\xbb\xbf" + EXAMPLE,
        "nan": orjson.dumps({**payload, "plugs": {"Kitchen": {"power": 1.25, "total": 2}}}).replace(b"1.25", b"NaN"),
        "nul": orjson.dumps({**payload, "motions": {"Hall\x00": {"motion": 1}}}),
        "year_one": orjson.dumps({**payload, "datetime": "01.01.0001 00:30"}),
        "not_a_dict_sensor": orjson.dumps({**payload, "humidities": {"Bath": 3}}),
    }
    paths = []
    for minute, content in enumerate(cases.values()):
        path = folder / f"03.10.2023 14{minute:02d}_JimmyLoup_received.json"
        path.write_bytes(content)
        paths.append(str(path))
    frame, outcomes = parse_files(paths, str(tmp_path), "Europe/Zurich")
    by_case = dict(zip(cases, outcomes, strict=True))
    assert by_case["bom"].reason is None and by_case["bom"].rows == 50
    assert by_case["nan"].reason is None and dict(by_case["nan"].skipped) == {"not_finite": 1}
    assert by_case["nul"].reason == "nul_character"
    assert by_case["year_one"].reason == "timestamp_out_of_range"
    assert by_case["not_a_dict_sensor"].reason == "bad_sensor"
    assert frame.height == by_case["bom"].rows + by_case["nan"].rows
    assert not frame["room"].str.contains("\x00").any()


def test_a_day_is_parsed_in_chunks_of_one_apartment_that_together_are_in_key_order(tmp_path):
    paths = []
    for apartment in ("jeremie", "jimmy"):
        folder = tmp_path / apartment / "2023/10/03/14"
        folder.mkdir(parents=True)
        for minute in range(5):
            path = folder / f"03.10.2023 14{minute:02d}_JimmyLoup_received.json"
            path.write_bytes(EXAMPLE.replace(b"14:37", f"14:{minute:02d}".encode()))
            paths.append(str(path))
    split = submit_files(None, paths, tmp_path, "Europe/Zurich", chunk=3)
    assert [part[0]["apartment"].unique().to_list() for part in split] == [["jeremie"]] * 2 + [["jimmy"]] * 2
    parts = submit_files(None, paths, tmp_path, "Europe/Zurich", chunk=8)
    assert [part[0]["apartment"].unique().to_list() for part in parts] == [["jeremie"], ["jimmy"]]
    frame, outcomes = collect(parts)
    assert frame.height == 10 * 50 and [o.file for o in outcomes] == [Path(p).name for p in paths]
    assert frame.select(READING_KEY).equals(frame.select(READING_KEY).sort(READING_KEY))
    assert frame["timestamp"].n_unique() == 5


def test_forecast_whose_time_format_changed_is_quarantined_not_loaded_empty():
    content = (FIXTURES / "Pred_2023-10-03.csv").read_bytes()
    lines = content.decode("utf-8").splitlines()
    changed = [lines[0]] + [line.replace("2023-10-", "10/", 1).replace("-", "/", 1) for line in lines[1:]]
    with pytest.raises(WeatherFileError) as raised:
        clean_forecast("\n".join(changed).encode(), date(2023, 10, 3), 2023, "Pred_2023-10-03.csv")
    assert raised.value.reason == "most_rows_unreadable"


def test_a_file_dated_far_ahead_is_held_back_and_moves_no_cursor():
    """`01.01.2099 0000_JimmyLoup_received.json` on the share: reported, never counted; the next tick still
    probes the minutes after the apartment's real last file."""
    share = FakeShare({})
    add(share, datetime(2023, 10, 3, 14, 0))
    future = add(share, datetime(2099, 1, 1, 0, 0))
    now = datetime(2023, 10, 4, tzinfo=timezone.utc).timestamp()
    first = discover(share, Cursor(), now=now, full_scan_interval=3600, future_minutes=1440)
    assert first.future == [future] and first.changed == ["2023-10-03"] and first.new_files == 1
    assert first.cursor.last_minute == {"JimmyLoup": "2023-10-03T14:00"}
    add(share, datetime(2023, 10, 3, 14, 1))
    second = discover(share, first.cursor, now=now, full_scan_interval=3600, future_minutes=1440, gap_interval=1e9)
    assert second.new_files == 1 and second.cursor.last_minute == {"JimmyLoup": "2023-10-03T14:01"}
    later = discover(share, second.cursor, now=now, full_scan_interval=0, future_minutes=AHEAD)
    assert later.future == [] and "2099-01-01" in later.changed


@pytest.mark.parametrize("name", ["03.10.2023 1400_JimmyLoup_received.json\n",
                                  "03.10.2023 1\u0664\u06f00_JimmyLoup_received.json",
                                  "\u0660\u0663.10.2023 1400_JimmyLoup_received.json"])
def test_a_name_with_a_trailing_newline_or_non_ascii_digits_is_not_a_sensor_file(name):
    with pytest.raises(FilenameError):
        parse_sensor_filename(name)


def test_a_cursor_position_too_far_ahead_or_of_no_user_is_dropped_and_the_share_listed_again():
    """Positions an earlier version stored beyond now (a far-future file) or a pseudonym an erasure wrote are
    dropped; the next discovery lists the share and learns the real position."""
    share = FakeShare({})
    add(share, datetime(2023, 10, 3, 14, 0))
    now = datetime(2023, 10, 4, tzinfo=timezone.utc).timestamp()
    poisoned = Cursor(last_minute={"JimmyLoup": "2099-01-01T00:00", "erased-0123456789ab": "2023-10-03T10:00"},
                      last_full_scan=now)
    found = discover(share, poisoned, now=now, full_scan_interval=3600, future_minutes=1440)
    assert found.full_scan and found.cursor.last_minute == {"JimmyLoup": "2023-10-03T14:00"}


def test_an_unmapped_weather_user_never_lands_in_a_mapped_weather_apartment():
    with pytest.raises(UnsafeName):
        apartment_id("Weather", {"Someone": "weather-apartment"})
    assert apartment_id("Weather", {}) == "weather-apartment"
    with pytest.raises(UnsafeName):  # in another case too
        apartment_id("Jimmy", {"JimmyLoup": "Jimmy"})
    assert parse_apartment_map("JimmyLoup=Apt_1.north") == {"JimmyLoup": "Apt_1.north"}  # ids that loaded before
    for unsafe in ("../x", ".hidden", "a/b", "weather"):
        with pytest.raises(ValueError):
            parse_apartment_map(f"JimmyLoup={unsafe}")


def test_a_pipe_or_a_folder_on_a_mounted_share_is_no_file_and_never_blocks(tmp_path):
    os.mkfifo(tmp_path / "29.10.2023 1200_JimmyLoup_received.json")
    (tmp_path / "29.10.2023 1201_JimmyLoup_received.json").mkdir()
    share = MountedFolder(str(tmp_path))
    assert share.list_files() == []
    assert share.stat("29.10.2023 1200_JimmyLoup_received.json") is None
    assert share.stat("29.10.2023 1201_JimmyLoup_received.json") is None
    with pytest.raises(OSError, match="not a regular file"):
        share.open("29.10.2023 1200_JimmyLoup_received.json")


def test_a_name_that_is_not_utf8_is_unsafe_and_kept_under_a_printable_name():
    name = os.fsdecode(b"29.10.2023 1200_Jimmy\xffLoup_received.json")
    assert unsafe_reason(name) == "a name that is not UTF-8"
    assert stored_name(name).encode("utf-8").isascii() and stored_name(name).startswith("29.10.2023 1200_Jimmy_")


def test_a_loaded_file_far_from_its_apartment_s_usual_row_count_is_named():
    """rows_per_file_outliers (the check rows_per_file_in_range): a file more than 20 % off the most common count
    of its own apartment's loaded files is named; quarantined files count for nothing, and each apartment has its
    own usual count."""
    outcomes = [FileOutcome(f"{apartment}-{i}.json", apartment, "", rows)
                for apartment, counts in {"a": [50, 50, 50, 39, 41, 60, 61], "b": [10, 10, 13, 8]}.items()
                for i, rows in enumerate(counts)]
    outcomes += [FileOutcome("a-bad.json", "a", "", 0, "bad_json"), FileOutcome("c-bad.json", "c", "", 0, "nul")]
    assert rows_per_file_outliers(outcomes) == ["a-3.json: 39 rows, usual 50", "a-6.json: 61 rows, usual 50",
                                                "b-2.json: 13 rows, usual 10"]
