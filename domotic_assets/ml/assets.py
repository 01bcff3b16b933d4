"""The ML assets of one use case (`occupancy` or `power`): features → backtest → model (with its quality
gates as blocking checks) → forecast of the next local day. The same factory builds both use cases."""

from datetime import date, timedelta
from typing import cast

import dagster as dg
import numpy as np
import polars as pl

from domotic_assets.ml import backtest as bt
from domotic_assets.ml import store
from domotic_assets.ml.data import load_grid
from domotic_assets.ml.features import FEATURES, build_features
from domotic_assets.ml.gates import gate_results
from domotic_assets.ml.models import candidates
from domotic_assets.ml.pictures import power_week_picture, reliability_picture
from domotic_assets.ml.report import comparison_markdown, importance_markdown
from domotic_assets.timing import TIMEZONE, WEATHER_HOUR, WEATHER_MIN
from domotic_config.variables import integer
from resources.postgres import PostgresResource

TARGETS = ("occupancy", "power")
GOLD_INPUTS = ("fact_presence_minute", "fact_energy_minute", "fact_environment_minute", "fact_weather_hour",
               "dim_apartment", "dim_device", "dim_date")
GATES_CHECK = "quality_gates"
ML_POOL = "ml"
# Features: first built as soon as every gold input has a day and none is being written (whenever their last
# update came: a range backfill reports its assets one by one), then every morning an hour after the weather
# file is fetched (the daily forecast); a failed first build waits for that morning. Backtest, model and
# forecast follow their ML inputs. Nothing starts while an input is being written, nor while a blocking gold
# check (an error-severity dbt test) has failed.
FORECAST_CRON = f"{WEATHER_MIN} {(WEATHER_HOUR + 1) % 24} * * *"
GOLD_CHECKS_PASSED = ~dg.AutomationCondition.any_deps_match(
    dg.AutomationCondition.any_checks_match(dg.AutomationCondition.check_failed(), blocking_only=True))
GOLD_HAS_DATA = dg.AutomationCondition.all_deps_match(~dg.AutomationCondition.missing())  # a day of each input
FEATURES_AUTOMATION = (
    ((dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed())
     | dg.AutomationCondition.cron_tick_passed(FORECAST_CRON, TIMEZONE))
    & GOLD_HAS_DATA & GOLD_CHECKS_PASSED & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)
# An input updated in a run that also targeted this asset counts (any_deps_updated would ignore it): a model
# whose blocking gate failed skips its forecast in that run, and the forecast must follow once the run is over
# to publish the baseline. Handled: the asset updated, or requested at a tick where no input was updated (so
# a request that fails is not repeated until an input changes again).
DEP_UPDATED = dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated())
INPUT_UPDATED = DEP_UPDATED.since(
    (dg.AutomationCondition.newly_requested() & ~DEP_UPDATED) | dg.AutomationCondition.newly_updated()
    | dg.AutomationCondition.initial_evaluation())
FOLLOW_AUTOMATION = (
    ((dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed()) | INPUT_UPDATED)
    & ~dg.AutomationCondition.any_deps_missing() & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)


class ForecastConfig(dg.Config):
    issue_offset_hours: int = 0
    """Hours before the target day's local midnight at which forecasts are issued (the features' cutoff)."""


def ml_assets(target: str) -> list[dg.AssetsDefinition]:
    """Features, backtest, model and forecast assets of one use case."""

    @dg.asset(name=f"{target}_features", group_name="ml", deps=[dg.AssetKey(name) for name in GOLD_INPUTS],
              automation_condition=FEATURES_AUTOMATION, pool=ML_POOL, kinds={"polars", "postgres"})
    def features(context: dg.AssetExecutionContext, warehouse: PostgresResource,
                 config: ForecastConfig) -> dg.MaterializeResult:
        """15-minute × room features as of each window's cutoff (no data after it), up to the next local day."""
        store.ensure_schema(warehouse)
        grid = load_grid(warehouse, target)
        if grid.windows.is_empty():
            raise dg.Failure(f"no gold data for {target}: materialise the gold facts first")
        last_day = grid.windows.select(pl.col("window_start").max().dt.convert_time_zone(TIMEZONE).dt.date()).item()
        frame = build_features(grid, last_day + timedelta(days=1), TIMEZONE, config.issue_offset_hours)
        store.write_frame(warehouse, f"{target}_features", frame)
        context.log.info(f"{frame.height} rows, {frame['room_key'].n_unique()} rooms, up to {last_day + timedelta(days=1)}")
        return dg.MaterializeResult(metadata={
            "rows": frame.height, "rooms": frame["room_key"].n_unique(), "first_day": str(frame["local_date"].min()),
            "forecast_day": str(last_day + timedelta(days=1)), "dagster/table_name": f"ml.{target}_features",
            "known_targets": cast(int, frame["target"].is_not_null().sum())})

    @dg.asset(name=f"{target}_backtest", group_name="ml", deps=[features], automation_condition=FOLLOW_AUTOMATION,
              pool=ML_POOL, kinds={"lightgbm", "scikitlearn"})
    def backtest(context: dg.AssetExecutionContext, warehouse: PostgresResource) -> dg.MaterializeResult:
        """Rolling-origin backtest of every candidate on the same daily cutoffs (expanding window, weekly refit);
        metrics pooled and per room, and the selected candidate."""
        frame = store.read_frame(warehouse, f"{target}_features")
        days = integer("ML_BACKTEST_DAYS")
        predictions = bt.run_backtest(frame, target, days=days)
        if target == "power":
            predictions = bt.with_intervals(predictions)
        pooled = bt.evaluate(predictions, target)
        selected = bt.select(pooled, target)
        store.write_frame(warehouse, f"{target}_backtest", predictions)
        first_day, last_day = cast(date, predictions["local_date"].min()), cast(date, predictions["local_date"].max())
        versions = {candidate.name: store.model_version(target, f"backtest-{candidate.name}", first_day, last_day,
                                                        FEATURES, candidate.params) for candidate in candidates(target)}
        written = store.upsert_predictions(warehouse, prediction_rows(predictions, target, "backtest", versions,
                                                                      context.run_id))
        context.log.info(f"{predictions['local_date'].n_unique()} cutoffs, selected {selected}, {written} rows written")
        metadata: dict[str, dg.MetadataValue] = {
            "selected": dg.MetadataValue.text(selected),
            "cutoffs": dg.MetadataValue.int(predictions["local_date"].n_unique()),
            "comparison": dg.MetadataValue.md(comparison_markdown(pooled)),
            "per_room": dg.MetadataValue.md(comparison_markdown(bt.evaluate(predictions, target, ("room_key",)))),
            "predictions_written": dg.MetadataValue.int(written)}
        metadata["picture"] = dg.MetadataValue.md(
            reliability_picture(predictions) if target == "occupancy" else power_week_picture(predictions, selected))
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset(name=f"{target}_model", group_name="ml", deps=[features, backtest], automation_condition=FOLLOW_AUTOMATION,
              pool=ML_POOL, kinds={"lightgbm"},
              check_specs=[dg.AssetCheckSpec(GATES_CHECK, asset=f"{target}_model", blocking=True,
                                             description="beats the baselines on the backtest (see the gates)")])
    def model(context: dg.AssetExecutionContext, warehouse: PostgresResource):
        """The selected candidate trained on all known windows, with its calibration (occupancy) or per-lead
        intervals (power) from the backtest, stored as a version; its quality gates are a blocking check."""
        frame = store.read_frame(warehouse, f"{target}_features")
        predictions = store.read_frame(warehouse, f"{target}_backtest")
        pooled = bt.evaluate(predictions, target)
        selected = bt.select(pooled, target)
        known = frame.filter(pl.col("target").is_not_null())
        fitted = next(c for c in candidates(target) if c.name == selected).fit(known)
        extras = (bt.calibration(predictions, selected) if target == "occupancy" else
                  bt.residual_quantiles(predictions.filter(pl.col("candidate") == selected).with_columns(
                      residual=pl.col("target") - pl.col("prediction"),
                      lead=pl.col("lead_hours").floor().cast(pl.Int32))))
        gates = gate_results(pooled, target, selected)
        passed = all(gate["passed"] for gate in gates.values())
        trained_from, trained_to = cast(date, known["local_date"].min()), cast(date, known["local_date"].max())
        version = store.model_version(target, selected, trained_from, trained_to, FEATURES, fitted.params)
        metrics = pooled.filter(pl.col("candidate") == selected).to_dicts()[0]
        store.save_model(warehouse, {"model_version": version, "target": target, "model_name": selected,
                                     "trained_from": trained_from, "trained_to": trained_to, "features": FEATURES,
                                     "params": fitted.params, "metrics": metrics, "gates": gates,
                                     "passed_gates": passed, "run_id": context.run_id}, (fitted, extras))
        metadata: dict[str, dg.MetadataValue] = {
            "model_version": dg.MetadataValue.text(version), "model_name": dg.MetadataValue.text(selected),
            "trained_from": dg.MetadataValue.text(str(trained_from)), "trained_to": dg.MetadataValue.text(str(trained_to)),
            "passed_gates": dg.MetadataValue.bool(passed),
            **{f"backtest_{name}": dg.MetadataValue.float(float(value)) for name, value in metrics.items()
               if name != "candidate"}}
        if hasattr(fitted, "importance"):
            metadata["feature_importance"] = dg.MetadataValue.md(importance_markdown(fitted.importance()))
        yield dg.MaterializeResult(metadata=metadata)
        yield dg.AssetCheckResult(check_name=GATES_CHECK, passed=passed, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={name: dg.MetadataValue.text(gate["detail"]) for name, gate in gates.items()})

    @dg.asset(name=f"{target}_forecast", group_name="ml", deps=[features, model], pool=ML_POOL, kinds={"postgres"},
              automation_condition=FOLLOW_AUTOMATION)
    def forecast(context: dg.AssetExecutionContext, warehouse: PostgresResource) -> dg.MaterializeResult:
        """Tomorrow's forecast for every room and 15-minute window, from the latest model version, or from the
        baseline (marked as such) when that version failed its gates; written to gold.fact_prediction."""
        frame = store.read_frame(warehouse, f"{target}_features")
        day = frame["local_date"].max()
        rows = frame.filter(pl.col("local_date") == day)
        stored = store.latest_model(warehouse, target)
        if stored is None:
            raise dg.Failure(f"no {target} model yet: materialise {target}_model first")
        if stored.passed_gates:
            name, version, (fitted, extras) = stored.name, stored.version, stored.model
        else:
            baseline = candidates(target)[0].fit(frame.filter(pl.col("target").is_not_null()))
            name, version, fitted, extras = f"baseline:{baseline.name}", f"baseline-{stored.version}", baseline, None
            context.log.warning(f"{stored.version} failed its gates: publishing the baseline {baseline.name}")
        predicted = rows.select(bt.KEYS).with_columns(candidate=pl.lit(name), prediction=fitted.predict(rows))
        predicted = finish(predicted, target, extras)
        written = store.upsert_predictions(warehouse, prediction_rows(predicted, target, "forecast", {name: version},
                                                                      context.run_id))
        actuals = store.fill_actuals(warehouse, target)
        if target == "occupancy":
            fill_presence_probability(warehouse)
        return dg.MaterializeResult(metadata={"forecast_day": str(day), "model_version": version, "model_name": name,
                                              "rows": written, "from_baseline": not stored.passed_gates,
                                              "earlier_forecasts_given_their_actual": actuals})

    return [features, backtest, model, forecast]


def finish(predicted: pl.DataFrame, target: str, extras) -> pl.DataFrame:
    """Calibrated probabilities (occupancy) or values with their 80 % interval (power)."""
    if target == "occupancy":
        probability = np.clip(predicted["prediction"].to_numpy(), 0, 1)
        return predicted.with_columns(prediction=extras.predict(probability) if extras is not None else probability)
    if extras is None:
        return predicted.with_columns(lower=pl.lit(None, pl.Float64), upper=pl.lit(None, pl.Float64))
    bounds = predicted.with_columns(lead=pl.col("lead_hours").floor().cast(pl.Int32)).join(
        extras.drop("candidate"), on="lead", how="left")
    return bounds.with_columns(lower=pl.col("prediction") + pl.col("q_low"),
                               upper=pl.col("prediction") + pl.col("q_high")).drop("lead", "q_low", "q_high")


def prediction_rows(predictions: pl.DataFrame, target: str, kind: str, versions: dict[str, str],
                    run_id: str) -> pl.DataFrame:
    """Rows of gold.fact_prediction; `versions` maps each candidate to its model version."""
    occupancy = target == "occupancy"
    return predictions.select(
        kind=pl.lit(kind), model_name="candidate",
        model_version=pl.col("candidate").replace_strict(versions, return_dtype=pl.String),
        target=pl.lit(target), apartment_key="apartment_key", room_key="room_key", window_start="window_start",
        issue_time="cutoff",
        probability=pl.col("prediction") if occupancy else pl.lit(None, pl.Float64),
        value=pl.lit(None, pl.Float64) if occupancy else pl.col("prediction"),
        lower_value=pl.col("lower") if "lower" in predictions.columns else pl.lit(None, pl.Float64),
        upper_value=pl.col("upper") if "upper" in predictions.columns else pl.lit(None, pl.Float64),
        actual="target", run_id=pl.lit(run_id))


def fill_presence_probability(warehouse: PostgresResource) -> None:
    """fact_presence_minute.presence_prob: the latest occupancy forecast issued for the minute's window."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("""
            UPDATE gold.fact_presence_minute AS presence SET presence_prob = latest.probability
            FROM (SELECT DISTINCT ON (room_key, window_start) room_key, window_start, probability
                  FROM gold.fact_prediction WHERE kind = 'forecast' AND target = 'occupancy'
                  ORDER BY room_key, window_start, issue_time DESC, written_at DESC) AS latest
            WHERE presence.room_key = latest.room_key
              AND presence.datetime_key - presence.datetime_key % 100 % 15
                  = to_char(latest.window_start AT TIME ZONE 'UTC', 'YYYYMMDDHH24MI')::bigint""")
