"""A fortnight of daily production forecasts replayed on the gold that `scripts/bench_gold.py` leaves in its
workdir, then the live scores of what was published set beside what each run's backtest promised.

Each forecast day D is made at its real issue instant (the day before at the forecast tick, 08:30) by the ML
assets themselves (features, backtest, model with its gates, forecast; a forecast a failed gate blocked follows in
a second run, as the automation does), on gold as it was at that instant: schema `gold` holds views of the full
gold (moved to `gold_full`) cut at the instant, the minute facts before it and the forecast files fetched by it.
Once the fortnight is over, gold is whole again, the actuals are filled and the live skill assets run.

An approximation: a minute fact is cut, not rebuilt. Gold decides a plug's energy near a minute from the next
readings too (a glitch is judged on its neighbours, a counter's rise is spread back over a gap), so the last
minutes before the instant hold what later readings made of them, as the backtest's rows near each cutoff do.

Agreement: the fortnight's headline metric of the published forecasts (occupancy log loss, power MAE) and the
mean of the runs' held-out backtest figures differ by less than twice the standard error of their difference,
days being the unit of noise (windows of one day are not independent): SE = sqrt(sd_live² / n_live +
sd_backtest² / n_backtest) from the per-day figures (a backtest day held out by several runs counts once, with
the mean of its figures). Prints the figures per use case as JSON (also in <workdir>/replay.json); asserts nothing.

    .venv/bin/python scripts/bench_gold.py --workdir /tmp/domotic-replay --start 2023-10-16 --days 170 --seed 2026
    .venv/bin/python scripts/replay_ml.py --workdir /tmp/domotic-replay [--days 14]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import numpy as np
import polars as pl
from psycopg2 import sql

from domotic_assets.governance.live_skill import live_skill_asset
from domotic_assets.ml import backtest as bt
from domotic_assets.ml import live, store
from domotic_assets.ml.assets import GOLD_INPUTS, ml_assets
from domotic_assets.ml.use_cases import USE_CASES, UseCase
from domotic_assets.timing import TIMEZONE, WEATHER_FETCHED, issue_before_midnight
from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource
from scripts.bench_gold import gold_warehouse

MINUTE_FACTS = ("fact_presence_minute", "fact_energy_minute", "fact_environment_minute")


def gold_as_of(warehouse: PostgresResource, instant: datetime | None) -> None:
    """Schema `gold` as it was at `instant` (None: all of it): views of `gold_full`'s ML inputs."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        for table in GOLD_INPUTS:
            source, view = sql.Identifier("gold_full", table), sql.Identifier("gold", table)
            condition, parameters = sql.SQL("true"), ()  # type: tuple
            if instant is not None and table in MINUTE_FACTS:
                condition, parameters = sql.SQL("datetime_key < %s"), (int(f"{instant.astimezone(ZoneInfo('UTC')):%Y%m%d%H%M}"),)
            elif instant is not None and table == "fact_weather_hour":
                fetched = (instant.astimezone(ZoneInfo(TIMEZONE)).replace(tzinfo=None) - WEATHER_FETCHED).date()
                condition, parameters = sql.SQL("prediction_date <= %s"), (fetched,)
            cursor.execute(sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT * FROM {} WHERE ").format(view, source)
                           + condition, parameters)


def prepare(warehouse: PostgresResource) -> int:
    """Move the full gold aside (a gold that bench_gold built, not the views of an earlier replay) and start from
    no ML state; gold's newest minute key."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'gold' "
                       "AND table_name = 'fact_presence_minute' AND table_type = 'BASE TABLE'")
        if cursor.fetchone()[0]:
            cursor.execute("DROP SCHEMA IF EXISTS gold_full CASCADE; ALTER SCHEMA gold RENAME TO gold_full")
        cursor.execute("DROP SCHEMA IF EXISTS gold CASCADE; DROP SCHEMA IF EXISTS ml CASCADE; CREATE SCHEMA gold")
        cursor.execute("SELECT max(datetime_key) FROM gold_full.fact_presence_minute")
        return cursor.fetchone()[0]


def daily_run(warehouse: PostgresResource, resources: dict, use_case: UseCase) -> dict:
    """The daily forecast of one use case, as the automation runs it; what it published and what its backtest
    promised: the held-out figure the published model was judged on (a baseline's: its own in this run's backtest),
    and this run's held-out figures of that candidate per day."""
    assets = ml_assets(use_case)
    result = dg.materialize(assets, resources=resources, raise_on_error=False)
    forecast = f"{use_case.name}_forecast"
    if not result.asset_materializations_for_node(forecast):  # its model failed a blocking gate
        result = dg.materialize(assets, resources=resources, selection=[forecast], raise_on_error=False)
    published = result.asset_materializations_for_node(forecast)[0].metadata
    stored = store.latest_model(warehouse, use_case.name)
    assessment = bt.assess(store.read_frame(warehouse, f"{use_case.name}_backtest"), use_case)
    headline, name = live.HEADLINE[use_case.name], str(published["model_name"].value)
    candidate = name.removeprefix("baseline:")  # a baseline published in place of the model: its own figures
    per_day = bt.evaluate(assessment.published, use_case, ("local_date",)).filter(pl.col("candidate") == candidate)
    promised_days = dict(zip(per_day["local_date"].to_list(), per_day[headline].to_list(), strict=True))
    promised = (assessment.pooled.filter(pl.col("candidate") == candidate)[headline].item()
                if published["from_baseline"].value
                else store.model_metrics(warehouse, str(published["model_version"].value))[headline])
    return {"day": published["forecast_day"].value, "model": name, "newest_passed": stored is not None and stored.passed_gates,
            "from_baseline": published["from_baseline"].value, "from_earlier": published["from_earlier_model"].value,
            "promised": promised, "promised_days": promised_days}


def live_scores(warehouse: PostgresResource, use_case: UseCase, days: list[date]) -> dict:
    """The published forecasts of `days` scored against their actuals: pooled and per day (the headline), and
    coverage per room; the metrics relative to a baseline are the live skill asset's."""
    rows = live.published_with_actuals(warehouse, use_case.name, TIMEZONE).filter(pl.col("local_date").is_in(days))
    headline = live.HEADLINE[use_case.name]
    zeros = np.zeros(rows.height)
    per_day = [use_case.metrics(group, np.zeros(group.height))[headline]
               for _, group in rows.group_by("local_date", maintain_order=True)]
    scores = {"pooled": use_case.metrics(rows, zeros), "per_day": per_day, "windows": rows.height}
    if rows["lower"].is_not_null().any():
        covered = (pl.col("target") >= pl.col("lower")) & (pl.col("target") <= pl.col("upper"))
        scores["coverage_per_room"] = dict(rows.filter(pl.col("lower").is_not_null()).group_by("room_key").agg(
            covered.mean()).sort("room_key").iter_rows())
    return scores


def agreement(runs: list[dict], live_value: float, live_days: list[float]) -> dict:
    """Live against promised, with the tolerance of the module docstring. The runs' held-out days overlap (each
    run holds out the 7 days before it): a day counts once, with the mean of its figures over the runs."""
    def variance_of_mean(values: list[float]) -> float:
        return float(np.var(values, ddof=1)) / len(values) if len(values) > 1 else float("nan")

    by_day: dict[date, list[float]] = {}
    for run in runs:
        for day, figure in run["promised_days"].items():
            by_day.setdefault(day, []).append(figure)
    backtest_days = [float(np.mean(figures)) for figures in by_day.values()]
    backtest = float(np.mean([run["promised"] for run in runs]))
    tolerance = 2 * math.sqrt(variance_of_mean(live_days) + variance_of_mean(backtest_days))
    return {"live": live_value, "backtest": backtest, "difference": live_value - backtest, "tolerance": tolerance,
            "agree": abs(live_value - backtest) <= tolerance, "live_days": len(live_days),
            "backtest_days": len(backtest_days)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/domotic-replay"))
    parser.add_argument("--days", type=int, default=14, help="forecast days replayed (the last ones of gold)")
    args = parser.parse_args()
    with gold_warehouse(args.workdir) as warehouse:
        resources = {"warehouse": warehouse, "webhook": AlertWebhookResource()}
        newest = datetime.strptime(str(prepare(warehouse)), "%Y%m%d%H%M").replace(tzinfo=ZoneInfo("UTC"))
        last_day = newest.astimezone(ZoneInfo(TIMEZONE)).date()
        days = [last_day - timedelta(days=offset) for offset in reversed(range(args.days))]
        runs: dict[str, list[dict]] = {use_case.name: [] for use_case in USE_CASES}
        for day in days:
            instant = datetime.combine(day, datetime.min.time(), ZoneInfo(TIMEZONE)) - issue_before_midnight()
            gold_as_of(warehouse, instant)
            started = time.perf_counter()
            for use_case in USE_CASES:
                run = daily_run(warehouse, resources, use_case)
                assert run["day"] == str(day), (run["day"], day)  # the forecast is for the day after gold's last
                runs[use_case.name].append(run)
            print(f"{day} issued {instant:%Y-%m-%d %H:%M %Z}: "
                  + "; ".join(f"{name} {r[-1]['model']} (newest passed: {r[-1]['newest_passed']})"
                              for name, r in runs.items()) + f" in {time.perf_counter() - started:.1f} s", flush=True)
        gold_as_of(warehouse, None)
        figures = {}
        for use_case in USE_CASES:
            name, headline = use_case.name, live.HEADLINE[use_case.name]
            features, *_ = ml_assets(use_case)
            dg.materialize([features], resources=resources)  # every target known: the actuals
            store.fill_actuals(warehouse, name)
            skill = dg.materialize([live_skill_asset(use_case)], resources=resources, raise_on_error=False)
            skill_metadata = skill.asset_materializations_for_node(f"{name}_live_skill")[0].metadata
            scores = live_scores(warehouse, use_case, days)
            published = runs[name]
            figures[name] = {
                "agreement": agreement(published, scores["pooled"][headline], scores["per_day"]),
                "live": {key: scores["pooled"][key] for key in scores["pooled"]
                         if key not in ("brier_skill", "relative_mae")},  # against a baseline: the live skill's
                "live_skill_asset": {key: entry.value for key, entry in skill_metadata.items()
                                     if isinstance(entry.value, (int, float))},
                "coverage_per_room": scores.get("coverage_per_room"),
                "windows": scores["windows"],
                "published": {"model": sum(not r["from_baseline"] for r in published),
                              "of_which_an_earlier_model": sum(r["from_earlier"] for r in published),
                              "baseline": sum(r["from_baseline"] for r in published)},
                "newest_model_passed": sum(r["newest_passed"] for r in published),
                "live_skill_check_passed": [c.passed for c in skill.get_asset_check_evaluations()],
                "runs": [{key: r[key] for key in ("day", "model", "newest_passed", "promised")} for r in published]}
        with warehouse.connect() as connection, connection.cursor() as cursor:  # stored once per model version
            cursor.execute("SELECT target, count(*), count(DISTINCT (model_name, room_key, window_start)) "
                           "FROM gold.fact_prediction WHERE kind = 'backtest' GROUP BY target")
            for target, rows, windows in cursor.fetchall():
                figures[target]["backtest_rows_stored"] = {"rows": rows, "candidate_room_windows": windows}
        print(json.dumps(figures, indent=1, default=str))
        (args.workdir / "replay.json").write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
