"""The presence rule of gold for doors, proven on generated door readings (Hypothesis): a door counts as activity
in a minute whose state differs from its previous reading, however far back (gaps of minutes to two days,
across midnights and both DST changes, readings filed on the next day, outliers that count for nothing). The SQL
dbt compiles for `fact_presence_minute` is run for one range and for each day alone: both give every minute
what the rule, applied here to the readings directly, gives."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domotic_assets.silver.store import replace_sensor_day
from tests.compiled_facts import STARTS, CompiledFact, built_as_range_and_day_by_day, compile_fact, minute_key

pytestmark = pytest.mark.integration
ZURICH = ZoneInfo("Europe/Zurich")
APARTMENT, ROOM, SENSOR = "hypothesis", "Hallway", "door-1"
GAPS = [1, 1, 1, 2, 7, 59, 61, 119, 121, 180, 1439, 1441, 2900]  # minutes between readings


@pytest.fixture(scope="module")
def presence_sql(fresh_database) -> CompiledFact:
    with pytest.MonkeyPatch.context() as patch:
        return compile_fact(fresh_database("presence_rules"), "fact_presence_minute", patch)


@st.composite
def door_readings(draw) -> list[tuple[datetime, float, bool, bool]]:
    """(UTC minute, open 0 or 1, outlier, filed on the next day) readings of one door, spanning at most five days."""
    minute = draw(st.sampled_from(STARTS)) + timedelta(minutes=draw(st.integers(0, 600)))
    readings = []
    for gap, is_open, outlier in draw(st.lists(st.tuples(st.sampled_from(GAPS), st.booleans(),
                                                         st.sampled_from([False] * 5 + [True])),
                                               min_size=2, max_size=30)):
        minute += timedelta(minutes=gap)
        late = minute.astimezone(ZURICH).strftime("%H:%M") == "23:59" and draw(st.booleans())
        readings.append((minute, float(is_open), outlier, late))
    return readings


def expected(readings: list[tuple[datetime, float, bool, bool]]) -> dict[int, tuple[bool, bool]]:
    """Per UTC minute key with a reading that is not an outlier: (door open, door activity)."""
    rows, previous = {}, None
    for minute, value, outlier, _ in readings:
        if outlier:
            continue
        rows[minute_key(minute)] = (value == 1, previous is not None and value != previous)
        previous = value
    return rows


def load(cursor, readings: list[tuple[datetime, float, bool, bool]]) -> list[date]:
    """The readings as silver days (a reading of 23:59 may be filed in the next day's file); the days touched."""
    by_day: dict[date, list] = {}
    for minute, value, outlier, late in readings:
        day = minute.astimezone(ZURICH).date() + timedelta(days=1 if late else 0)
        by_day.setdefault(day, []).append({
            "apartment": APARTMENT, "room": ROOM, "sensor_type": "door", "sensor_id": SENSOR, "field": "open",
            "value": value, "unit": None, "timestamp": minute, "is_outlier": outlier,
            "source_file": f"{day:%d.%m.%Y} 0000_{APARTMENT}_received.json", "partition_date": day})
    for day, rows in by_day.items():
        frame = pl.DataFrame(rows, schema_overrides={"unit": pl.String})
        replace_sensor_day(cursor, day, frame.with_columns(pl.col("timestamp").dt.cast_time_unit("us")))
    return sorted(by_day)


def built(cursor, fact: CompiledFact, start: date, end: date) -> dict[int, tuple[bool, bool]]:
    cursor.execute(f"SELECT datetime_key, door_open_flag, door_activity_flag, presence_flag "
                   f"FROM ({fact.for_window(start, end)}) f")
    rows = {}
    for key, is_open, activity, presence in cursor.fetchall():
        assert presence == activity  # a door without motion: presence is its activity
        rows[key] = (is_open, activity)
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(readings=door_readings())
def test_every_build_gives_each_minute_the_door_s_change_since_its_previous_reading(presence_sql, readings):
    with presence_sql.warehouse.connect() as connection, connection.cursor() as cursor:
        try:
            in_range, day_by_day = built_as_range_and_day_by_day(cursor, presence_sql, load(cursor, readings), built)
        finally:
            connection.rollback()
    wanted = expected(readings)
    assert in_range == wanted
    assert day_by_day == wanted
