"""A gold fact's SQL as dbt compiles it for a placeholder window, run on silver of a database of its own for any
window: what the property tests of the facts' minute rules build (tests/test_energy_rules.py,
tests/test_presence_rules.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from domotic_assets.gold.project import gold_dbt
from domotic_assets.silver.store import ensure_schema
from resources.postgres import PostgresResource

PLACEHOLDER_WINDOW = ("1901-01-01", "1901-01-02")
STAGING_VIEWS = "stg_sensor_events stg_sensor_days"
# Where generated readings start: the eve of the spring and of the autumn clock change, and the autumn one's day.
STARTS = [datetime(2023, 3, 25, 21, 50, tzinfo=timezone.utc), datetime(2023, 10, 28, 21, 30, tzinfo=timezone.utc),
          datetime(2023, 10, 28, 0, 55, tzinfo=timezone.utc)]


@dataclass(frozen=True)
class CompiledFact:
    """The warehouse and the fact's compiled SQL, out of Hypothesis' reports (the URL holds a password)."""
    warehouse: PostgresResource = field(repr=False)
    sql: str = field(repr=False)

    def for_window(self, start: date, end: date) -> str:
        """The fact's rows for the days [start, end)."""
        return self.sql.replace(PLACEHOLDER_WINDOW[0], start.isoformat()).replace(PLACEHOLDER_WINDOW[1],
                                                                                  end.isoformat())


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
    compiled = dbt.cli(["compile", "--select", model, "--vars", json.dumps(window)], raise_on_error=False).wait()
    assert compiled.is_successful(), compiled.get_error()
    sql = (compiled.target_path / "compiled" / "domotic" / "models" / "marts" / f"{model}.sql").read_text()
    assert PLACEHOLDER_WINDOW[0] in sql
    return CompiledFact(warehouse, sql)


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
