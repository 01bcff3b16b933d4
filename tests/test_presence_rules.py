"""The presence rule of gold for doors, proven on generated door readings (Hypothesis): a door counts as activity
in a minute whose state differs from its previous reading, however far back (gaps of minutes to two days,
across midnights and both DST changes, readings filed on the next day, outliers that count for nothing). The SQL
dbt compiles for `fact_presence_minute` is run for one range and for each day alone: both give every minute
what the rule, applied here to the readings directly, gives."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compiled_facts import (
    STARTS,
    CompiledFact,
    built_around_a_drawn_append,
    built_as_range_and_day_by_day,
    compile_fact,
    minute_key,
    write_silver,
)

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


def silver_rows(readings: list[tuple[datetime, float, bool, bool]]) -> dict[date, list[dict]]:
    """The readings as rows of the silver days they are filed on (a reading of 23:59 may be in the next day's file)."""
    by_day: dict[date, list] = {}
    for minute, value, outlier, late in readings:
        day = minute.astimezone(ZURICH).date() + timedelta(days=1 if late else 0)
        by_day.setdefault(day, []).append({
            "apartment": APARTMENT, "room": ROOM, "sensor_type": "door", "sensor_id": SENSOR, "field": "open",
            "value": value, "unit": None, "timestamp": minute, "is_outlier": outlier,
            "source_file": f"{day:%d.%m.%Y} 0000_{APARTMENT}_received.json", "partition_date": day})
    return by_day


def built(cursor, fact: CompiledFact, start: date, end: date,
          rebuild_from: datetime | None = None) -> dict[int, tuple[bool, bool]]:
    cursor.execute(f"SELECT datetime_key, door_open_flag, door_activity_flag, presence_flag "
                   f"FROM ({fact.for_window(start, end, rebuild_from)}) f")
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
            in_range, day_by_day = built_as_range_and_day_by_day(
                cursor, presence_sql, write_silver(cursor, silver_rows(readings)), built)
        finally:
            connection.rollback()
    wanted = expected(readings)
    assert in_range == wanted
    assert day_by_day == wanted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(readings=door_readings(), data=st.data())
def test_a_day_rebuilt_from_the_first_minute_an_append_changes_gives_each_minute_the_door_s_change(
        presence_sql, readings, data):
    """A live append of any of a day's door readings (not only its latest) after the day was built: the day rebuilt
    from the minute silver's rule says they change on, its minutes before it as first built, gives every minute of
    the day the change since the door's previous reading, as the rule gives from all the readings."""
    rows_by_day = silver_rows(readings)
    day, day_rows = built_around_a_drawn_append(data, presence_sql, rows_by_day, built)
    start = datetime.combine(day, time(), ZURICH)
    wanted = {key: row for key, row in expected(readings).items()
              if minute_key(start) <= key < minute_key(start + timedelta(days=1))}
    assert day_rows == wanted
