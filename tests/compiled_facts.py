"""A gold fact's SQL as dbt compiles it for a placeholder window, run on silver of a database of its own for any
window: what the property tests of the facts' minute rules build (tests/test_energy_rules.py,
tests/test_presence_rules.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import polars as pl
from hypothesis import event
from hypothesis import strategies as st

from domotic_assets.gold.project import gold_dbt
from domotic_assets.silver.reaching_back import gold_change
from domotic_assets.silver.store import ensure_schema, replace_sensor_day
from resources.postgres import PostgresResource

PLACEHOLDER_WINDOW = ("1901-01-01", "1901-01-02")
PLACEHOLDER_REBUILD_FROM = "1901-01-01T12:34:00+00:00"
STAGING_VIEWS = "stg_sensor_events stg_sensor_days"
# Where generated readings start: the eve of the spring and of the autumn clock change, and the autumn one's day.
STARTS = [datetime(2023, 3, 25, 21, 50, tzinfo=timezone.utc), datetime(2023, 10, 28, 21, 30, tzinfo=timezone.utc),
          datetime(2023, 10, 28, 0, 55, tzinfo=timezone.utc)]


@dataclass(frozen=True)
class CompiledFact:
    """The warehouse and the fact's compiled SQL (whole days, and rebuilding from a minute), out of Hypothesis'
    reports (the URL holds a password)."""
    warehouse: PostgresResource = field(repr=False)
    sql: str = field(repr=False)
    sql_from: str = field(repr=False)

    def for_window(self, start: date, end: date, rebuild_from: datetime | None = None) -> str:
        """The fact's rows for the days [start, end), from the UTC minute `rebuild_from` on when given."""
        sql = self.sql if rebuild_from is None else self.sql_from.replace(PLACEHOLDER_REBUILD_FROM,
                                                                          rebuild_from.isoformat())
        return sql.replace(PLACEHOLDER_WINDOW[0], start.isoformat()).replace(PLACEHOLDER_WINDOW[1], end.isoformat())


def compile_fact(database_url: str, model: str, monkeypatch) -> CompiledFact:
    """A database with the silver tables and the staging views, and the SQL of `model` compiled for the
    placeholder window."""
    warehouse = PostgresResource(db_url=database_url)
    with warehouse.connect() as connection, connection.cursor() as cursor:
        ensure_schema(cursor)
        connection.commit()
    for name, value in warehouse.dbt_environment().items():
        monkeypatch.setenv(name, value)
    dbt = gold_dbt()
    run = dbt.cli(["run", "--select", STAGING_VIEWS], raise_on_error=False).wait()
    assert run.is_successful(), run.get_error()
    window = {"min_date": PLACEHOLDER_WINDOW[0], "max_date": PLACEHOLDER_WINDOW[1]}
    sql, sql_from = (compiled_sql(dbt, model, vars) for vars in (window, {**window, "rebuild_from": PLACEHOLDER_REBUILD_FROM}))
    assert PLACEHOLDER_WINDOW[0] in sql and PLACEHOLDER_REBUILD_FROM in sql_from
    return CompiledFact(warehouse, sql, sql_from)


def compiled_sql(dbt, model: str, dbt_vars: dict) -> str:
    compiled = dbt.cli(["compile", "--select", model, "--vars", json.dumps(dbt_vars)], raise_on_error=False).wait()
    assert compiled.is_successful(), compiled.get_error()
    return (compiled.target_path / "compiled" / "domotic" / "models" / "marts" / f"{model}.sql").read_text()


def built_as_range_and_day_by_day(cursor, fact: CompiledFact, days: list[date],
                                  built: Callable[..., dict]) -> tuple[dict, dict]:
    """The fact's rows over `days` and a day either side, `built(cursor, fact, start, end)` as one range and
    day by day."""
    first, last = min(days) - timedelta(days=1), max(days) + timedelta(days=1)
    in_range = built(cursor, fact, first, last + timedelta(days=1))
    day_by_day: dict = {}
    day = first
    while day <= last:
        day_by_day |= built(cursor, fact, day, day + timedelta(days=1))
        day += timedelta(days=1)
    return in_range, day_by_day


def minute_key(minute: datetime) -> int:
    """The star's minute key (YYYYMMDDHHMM in UTC) of an instant."""
    return int(minute.astimezone(timezone.utc).strftime("%Y%m%d%H%M"))


def write_silver(cursor, rows_by_day: dict[date, list[dict]]) -> list[date]:
    """Silver rows (dicts of its columns) as the sensor days they are filed on; the days, in order."""
    for day, rows in rows_by_day.items():
        frame = pl.DataFrame(rows, schema_overrides={"unit": pl.String})
        replace_sensor_day(cursor, day, frame.with_columns(pl.col("timestamp").dt.cast_time_unit("us")))
    return sorted(rows_by_day)


def built_before_and_after_an_append(cursor, fact: CompiledFact, rows_by_day: dict[date, list[dict]], day: date,
                                     new: set[int], built: Callable[..., dict]) -> tuple[dict, datetime | None]:
    """A live append: `day` built alone while silver holds every row but its `new` ones (indices into its rows),
    then those appended and the day rebuilt from the minute silver's rule (`gold_change`) says they change on.
    The day's rows as they then stand (those before that minute as first built), and that minute (None: whole)."""
    earlier = {filed: [row for index, row in enumerate(rows) if filed != day or index not in new]
               for filed, rows in rows_by_day.items()}
    write_silver(cursor, {filed: rows for filed, rows in earlier.items() if rows})
    first_built = built(cursor, fact, day, day + timedelta(days=1))
    write_silver(cursor, {day: rows_by_day[day]})
    appended = pl.DataFrame([rows_by_day[day][index] for index in sorted(new)], schema_overrides={"unit": pl.String})
    change = gold_change(cursor, day, appended, [])
    assert change is not None
    rebuilt = built(cursor, fact, day, day + timedelta(days=1), change.rebuild_from)
    if change.rebuild_from is None:
        return rebuilt, None
    start = minute_key(change.rebuild_from)
    return {key: row for key, row in first_built.items() if key < start} | rebuilt, change.rebuild_from


def built_around_a_drawn_append(data, fact: CompiledFact, rows_by_day: dict[date, list[dict]],
                                built: Callable[..., dict]) -> tuple[date, dict]:
    """A day of `rows_by_day` and an append of any of its rows (not only its latest) drawn with Hypothesis' `data`,
    the day built before and after it (`built_before_and_after_an_append`, rolled back): the day and its rows."""
    # Any day and any of its rows as the append's earliest (the others after it), or, one draw in two, a live
    # append: late in the fullest day, where a series has the 61 good readings a rebuild from a minute needs.
    fullest = max(sorted(rows_by_day), key=lambda day: len(rows_by_day[day]))
    day = data.draw(st.sampled_from(sorted(rows_by_day)) | st.just(fullest))
    rows = len(rows_by_day[day])
    first_new = data.draw(st.integers(0, rows - 1) | st.integers(max(0, rows - 25), rows - 1))
    new = {first_new} | data.draw(st.sets(st.sampled_from(range(first_new, rows))))
    with fact.warehouse.connect() as connection, connection.cursor() as cursor:
        try:
            day_rows, rebuilt_from = built_before_and_after_an_append(cursor, fact, rows_by_day, day, new, built)
        finally:
            connection.rollback()
    event("rebuilt from a minute" if rebuilt_from else "rebuilt whole")
    return day, day_rows
