"""The energy rules of gold, proven on generated counters (Hypothesis): readings with resets, glitches, spikes,
negative values, steps backwards, implausible rises and gaps of minutes to days across midnights and both DST
changes, loaded into silver of a database of its own. The SQL dbt compiles for `fact_energy_minute` is run for
one range and for each day alone: both give every minute the energy and rule that the rules, applied here to
the readings directly, give; energy is never negative, and energy + rejected = the good counter's rise."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domotic_config.dbt_vars import project_vars
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
RULE_VARS = ("glitch_neighbours", "counter_reset_share", "max_plug_power_w")
MAX_SPREAD_MINUTES = 10080
APARTMENT, ROOM, SENSOR = "hypothesis", "Kitchen", "plug-1"


def rule_vars() -> dict:
    """The rule parameters as dbt_project.yml declares them (read, not restated)."""
    return {name: project_vars()[name] for name in RULE_VARS}


@pytest.fixture(scope="module")
def energy_sql(fresh_database) -> CompiledFact:
    with pytest.MonkeyPatch.context() as patch:
        return compile_fact(fresh_database("energy_rules"), "fact_energy_minute", patch)


# ---- the rules, applied to one counter's readings directly --------------------------------------------------
def expected_minutes(readings: dict[datetime, float], rules: dict) -> tuple[dict[datetime, tuple], float]:
    """Per UTC minute: (energy_wh, adjustment, rejected_wh), for every minute with a reading or energy; and
    the rise of the good readings (last - first)."""
    neighbours, share, max_w = rules["glitch_neighbours"], rules["counter_reset_share"], rules["max_plug_power_w"]
    series = sorted((minute, value) for minute, value in readings.items() if value >= 0)
    values = [value for _, value in series]
    glitch = []
    for i, value in enumerate(values):
        before, after = values[max(0, i - neighbours):i], values[i + 1:i + 1 + neighbours]
        dip = bool(before and after) and value < max(before) and max(after) >= max(before)
        spike = bool(after) and value > after[-1] and (after[-1] >= min(before) if before else value > max(after))
        glitch.append(dip or spike)
    glitch_minutes = {minute for (minute, _), flagged in zip(series, glitch) if flagged}
    good = [reading for reading, flagged in zip(series, glitch) if not flagged]
    rows: dict[datetime, tuple] = {minute: (None, None, None) for minute in readings}
    for index, (minute, value) in enumerate(good):
        if index == 0:
            rows[minute] = (None, "first_reading", None)
            continue
        previous_minute, previous = good[index - 1]
        minutes = max(1, round((minute - previous_minute).total_seconds() / 60))
        if value >= previous and value - previous > max_w / 60 * minutes:
            adjustment, rise = "implausible", None
        elif value >= previous:
            adjustment, rise = None, value - previous
        elif value < share * previous:
            adjustment, rise = "reset", value
        else:
            adjustment, rise = "backwards", 0.0
        spread = min(minutes, MAX_SPREAD_MINUTES)
        for step in range(spread):
            at = minute - timedelta(minutes=step)
            label = "glitch" if at in glitch_minutes else "gap_spread" if step and adjustment is None else adjustment
            rejected = (value - previous) - (rise or 0) if step == 0 else None
            rows[at] = (None if rise is None else rise / spread, label, rejected or None)
    return rows, (good[-1][1] - good[0][1]) if good else 0.0


# ---- generated counters ------------------------------------------------------------------------------------
GAPS = [1, 1, 1, 1, 1, 2, 7, 59, 61, 180, 1439, 1441, 2900]  # minutes between readings
LIVE_GAPS = [1] * 20 + [2, 7, 59, 61, 180]  # a device reporting every minute, with the odd gap
KINDS = ["rise", "rise", "rise", "rise", "reset", "dip", "spike", "negative", "backwards", "jump"]


@st.composite
def counters(draw, gaps: list[int] = GAPS, min_size: int = 2, max_size: int = 40) -> list[tuple[datetime, float, bool]]:
    """(UTC minute, counter, filed on the next day) readings of one plug, `gaps` minutes apart (of GAPS: spanning
    at most five days)."""
    minute = draw(st.sampled_from(STARTS)) + timedelta(minutes=draw(st.integers(0, 600)))
    level = float(draw(st.integers(0, 5000)))
    readings = []
    for gap, kind, amount in draw(st.lists(st.tuples(st.sampled_from(gaps), st.sampled_from(KINDS),
                                                     st.integers(0, 60)), min_size=min_size, max_size=max_size)):
        minute += timedelta(minutes=gap)
        if kind == "rise":
            level += amount * min(gap, 30) / 10
            value = level
        elif kind == "reset":
            level = value = float(amount)
        elif kind == "dip":
            value = 0.0
        elif kind == "spike":
            value = level + 50000 + amount
        elif kind == "negative":
            value = -float(amount + 1)
        elif kind == "backwards":
            level = value = max(0.0, level - amount)
        else:  # an implausible jump the counter keeps
            level = value = level + 5000
        late = minute.astimezone(ZURICH).strftime("%H:%M") == "23:59" and draw(st.booleans())
        readings.append((minute, round(value, 1), late))
    return readings


def silver_rows(readings: list[tuple[datetime, float, bool]]) -> dict[date, list[dict]]:
    """The readings as rows of the silver days they are filed on (a reading of 23:59 may be in the next day's file)."""
    by_day: dict[date, list] = {}
    for minute, value, late in readings:
        day = minute.astimezone(ZURICH).date() + timedelta(days=1 if late else 0)
        by_day.setdefault(day, []).append({
            "apartment": APARTMENT, "room": ROOM, "sensor_type": "plug", "sensor_id": SENSOR, "field": "total",
            "value": value, "unit": "Wh", "timestamp": minute, "is_outlier": False,
            "source_file": f"{day:%d.%m.%Y} 0000_{APARTMENT}_received.json", "partition_date": day})
    return by_day


def built(cursor, fact: CompiledFact, start: date, end: date, rebuild_from: datetime | None = None) -> dict[int, tuple]:
    cursor.execute(f"SELECT datetime_key, energy_wh, adjustment, rejected_wh "
                   f"FROM ({fact.for_window(start, end, rebuild_from)}) f")
    return {key: (energy, adjustment, rejected) for key, energy, adjustment, rejected in cursor.fetchall()}


def rounded(rows: dict[int, tuple]) -> dict[int, tuple]:
    return {key: tuple(round(v, 6) if isinstance(v, float) else v for v in row) for key, row in rows.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
# Found by Hypothesis: spikes, then dips, then spikes (a chain of 11 glitches) before a gap of a day.
@example(readings=[(datetime(2023, 3, 25, 21, 51, tzinfo=timezone.utc) + timedelta(minutes=step), value, False)
                   for step, value in enumerate([0.0, 0.1, 0.1, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.1])]
         + [(datetime(2023, 3, 26, 22, 1, tzinfo=timezone.utc), 0.0, False)])
@given(readings=counters())
def test_every_build_gives_each_minute_what_the_rules_give(energy_sql, readings):
    warehouse = energy_sql.warehouse
    counter = {}
    for minute, value, _ in readings:
        counter[minute] = max(value, counter.get(minute, value))
    expected, good_rise = expected_minutes(counter, rule_vars())
    with warehouse.connect() as connection, connection.cursor() as cursor:
        try:
            in_range, day_by_day = built_as_range_and_day_by_day(
                cursor, energy_sql, write_silver(cursor, silver_rows(readings)), built)
        finally:
            connection.rollback()
    wanted = rounded({minute_key(minute): row for minute, row in expected.items()})
    assert rounded(in_range) == wanted
    assert rounded(day_by_day) == wanted
    assert all(energy is None or energy >= 0 for energy, _, _ in in_range.values())
    energy = sum(row[0] or 0 for row in in_range.values()) + sum(row[2] or 0 for row in in_range.values())
    assert energy == pytest.approx(good_rise, abs=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(readings=counters(LIVE_GAPS, min_size=100, max_size=200), data=st.data())
def test_a_day_rebuilt_from_the_first_minute_an_append_changes_gives_each_minute_what_the_rules_give(
        energy_sql, readings, data):
    """A live append of any of a day's readings (not only its latest) after the day was built: the day rebuilt
    from the minute silver's rule says they change on, its minutes before it as first built, gives every minute of
    the day what the rules give from all the readings."""
    counter = {}
    for minute, value, _ in readings:
        counter[minute] = max(value, counter.get(minute, value))
    expected, _ = expected_minutes(counter, rule_vars())
    rows_by_day = silver_rows(readings)
    day, day_rows = built_around_a_drawn_append(data, energy_sql, rows_by_day, built)
    wanted = {minute_key(minute): row for minute, row in expected.items() if minute.astimezone(ZURICH).date() == day}
    assert rounded(day_rows) == rounded(wanted)
