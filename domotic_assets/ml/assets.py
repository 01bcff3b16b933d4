"""The ML assets of one use case (`use_cases.py`: occupancy or power): features → backtest → model (with its
quality gates as blocking checks) → forecast of the next local day. The same factory builds both use cases."""

from datetime import date, timedelta
from typing import cast

import dagster as dg
import polars as pl

from domotic_assets.ml import backtest as bt
from domotic_assets.ml import store
from domotic_assets.ml.data import load_grid
from domotic_assets.ml.features import FEATURES, build_features
from domotic_assets.ml.report import comparison_markdown, importance_markdown
from domotic_assets.ml.use_cases import UseCase
from domotic_assets.timing import FORECAST_AFTER_FETCH, TIMEZONE, WEATHER_FETCHED, after_weather_fetch, issue_before_midnight
from domotic_config.variables import integer
from resources.postgres import PostgresResource

GOLD_INPUTS = ("fact_presence_minute", "fact_energy_minute", "fact_environment_minute", "fact_weather_hour",
               "dim_apartment", "dim_apartment_weather_site", "dim_device", "dim_date")
GATES_CHECK = "quality_gates"
ML_POOL = "ml"
# Features: first built as soon as every gold input has a day and none is being written (whenever their last
# update came: a range backfill reports its assets one by one), then every morning an hour after the weather
# file is fetched (the daily forecast); a failed first build waits for that morning. Backtest, model and
# forecast follow their ML inputs. Nothing starts while an input is being written, nor while a blocking gold
# check (an error-severity dbt test) has failed.
FORECAST_CRON = after_weather_fetch(int(FORECAST_AFTER_FETCH.total_seconds() // 60))
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


def ml_assets(use_case: UseCase) -> list[dg.AssetsDefinition]:
    """Features, backtest, model and forecast assets of one use case."""
    target = use_case.name

    @dg.asset(name=f"{target}_features", group_name="ml", deps=[dg.AssetKey(name) for name in GOLD_INPUTS],
              automation_condition=FEATURES_AUTOMATION, pool=ML_POOL, kinds={"polars", "postgres"})
    def features(context: dg.AssetExecutionContext, warehouse: PostgresResource) -> dg.MaterializeResult:
        """15-minute × room features as of each window's cutoff (no window nor forecast file after it), up to the
        next local day."""
        store.ensure_schema(warehouse)
        grid = load_grid(warehouse, use_case.actual_column)
        if grid.windows.is_empty():
            raise dg.Failure(f"no gold data for {target}: materialise the gold facts first")
        last_day = grid.windows.select(pl.col("window_start").max().dt.convert_time_zone(TIMEZONE).dt.date()).item()
        frame = build_features(grid, last_day + timedelta(days=1), TIMEZONE, issue_before_midnight(), WEATHER_FETCHED)
        store.write_frame(warehouse, f"{target}_features", frame)
        context.log.info(f"{frame.height} rows, {frame['room_key'].n_unique()} rooms, up to {last_day + timedelta(days=1)}")
        return dg.MaterializeResult(metadata={
            "rows": frame.height, "rooms": frame["room_key"].n_unique(), "first_day": str(frame["local_date"].min()),
            "forecast_day": str(last_day + timedelta(days=1)), "dagster/table_name": f"ml.{target}_features",
            "known_targets": cast(int, frame["target"].is_not_null().sum())})

    @dg.asset(name=f"{target}_backtest", group_name="ml", deps=[features], automation_condition=FOLLOW_AUTOMATION,
              pool=ML_POOL, kinds={"lightgbm", "scikitlearn"})
    def backtest(context: dg.AssetExecutionContext, warehouse: PostgresResource) -> dg.MaterializeResult:
        """Rolling-origin backtest of every candidate on the same daily cutoffs (expanding window, weekly refit).
        The candidate is chosen (`chosen_on`) and calibrated on the earlier days; `comparison`, `per_room` and the
        picture score the published predictions on the last quarter of the days, which neither step saw."""
        frame = store.read_frame(warehouse, f"{target}_features")
        days = integer("ML_BACKTEST_DAYS")
        predictions = use_case.backtest_predictions(bt.run_backtest(frame, use_case, days=days))
        assessment = bt.assess(predictions, use_case)
        selected = assessment.selected
        store.write_frame(warehouse, f"{target}_backtest", predictions)
        written = store.upsert_predictions(warehouse, prediction_rows(
            with_backtest_versions(predictions, use_case), use_case, "backtest", context.run_id))
        context.log.info(f"{predictions['local_date'].n_unique()} cutoffs, selected {selected}, {written} rows written")
        metadata: dict[str, dg.MetadataValue] = {
            "selected": dg.MetadataValue.text(selected),
            "cutoffs": dg.MetadataValue.int(predictions["local_date"].n_unique()),
            "evaluation_days": dg.MetadataValue.int(assessment.published["local_date"].n_unique()),
            "chosen_on": dg.MetadataValue.md(comparison_markdown(assessment.chosen_on)),
            "comparison": dg.MetadataValue.md(comparison_markdown(assessment.pooled)),
            "per_room": dg.MetadataValue.md(comparison_markdown(assessment.per_room)),
            "predictions_written": dg.MetadataValue.int(written)}
        metadata["picture"] = dg.MetadataValue.md(use_case.picture(assessment.published, selected))
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset(name=f"{target}_model", group_name="ml", deps=[features, backtest], automation_condition=FOLLOW_AUTOMATION,
              pool=ML_POOL, kinds={"lightgbm"},
              check_specs=[dg.AssetCheckSpec(GATES_CHECK, asset=f"{target}_model", blocking=True,
                                             description="beats the baselines on the backtest (see the gates)")])
    def model(context: dg.AssetExecutionContext, warehouse: PostgresResource):
        """The selected candidate trained on all known windows, with its calibration (occupancy) or intervals per
        room (power) from the backtest, stored as a version; its quality gates, on the backtest's evaluation days
        as production publishes, are a blocking check."""
        frame = store.read_frame(warehouse, f"{target}_features")
        predictions = store.read_frame(warehouse, f"{target}_backtest")
        assessment = bt.assess(predictions, use_case)
        selected, pooled = assessment.selected, assessment.pooled
        known = frame.filter(pl.col("target").is_not_null())
        fitted = next(c for c in use_case.candidates() if c.name == selected).fit(known)
        gates = use_case.gates(pooled, selected, assessment.per_room)
        passed = all(gate["passed"] for gate in gates.values())
        fallback = next(c for c in use_case.candidates() if c.name == use_case.best_baseline(pooled)).fit(known)
        trained_from, trained_to = cast(date, known["local_date"].min()), cast(date, known["local_date"].max())
        data = store.data_fingerprint(known)
        version = store.model_version(target, selected, data, FEATURES, fitted.params)
        metrics = pooled.filter(pl.col("candidate") == selected).to_dicts()[0]
        store.save_model(warehouse, {"model_version": version, "target": target, "model_name": selected,
                                     "trained_from": trained_from, "trained_to": trained_to, "features": FEATURES,
                                     "params": fitted.params, "metrics": metrics, "gates": gates,
                                     "passed_gates": passed, "run_id": context.run_id}, (fitted, assessment.extras, fallback))
        metadata: dict[str, dg.MetadataValue] = {
            "model_version": dg.MetadataValue.text(version), "model_name": dg.MetadataValue.text(selected),
            "trained_from": dg.MetadataValue.text(str(trained_from)), "trained_to": dg.MetadataValue.text(str(trained_to)),
            "passed_gates": dg.MetadataValue.bool(passed), "best_baseline": dg.MetadataValue.text(fallback.name),
            **{f"backtest_{name}": dg.MetadataValue.float(float(value)) for name, value in metrics.items()
               if name != "candidate"}}
        metadata["model_card"] = dg.MetadataValue.md(model_card(
            version, selected, trained_from, trained_to, data, assessment, gates))
        if hasattr(fitted, "importance"):
            metadata["feature_importance"] = dg.MetadataValue.md(importance_markdown(fitted.importance()))
        yield dg.MaterializeResult(metadata=metadata)
        yield dg.AssetCheckResult(check_name=GATES_CHECK, passed=passed, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={name: dg.MetadataValue.text(gate["detail"]) for name, gate in gates.items()})

    @dg.asset(name=f"{target}_forecast", group_name="ml", deps=[features, model], pool=ML_POOL, kinds={"postgres"},
              automation_condition=FOLLOW_AUTOMATION)
    def forecast(context: dg.AssetExecutionContext, warehouse: PostgresResource) -> dg.MaterializeResult:
        """Tomorrow's forecast for every room and 15-minute window, from the latest model version; when it failed
        its gates, from the last model that passed (ML_FALLBACK_MODEL_DAYS), else from the best baseline of its
        backtest (marked as such); written to gold.fact_prediction, the row naming the model."""
        frame = store.read_frame(warehouse, f"{target}_features")
        day = cast(date, frame["local_date"].max())
        rows, stale = current_rooms(frame, day, integer("ML_STALE_ROOM_DAYS"))
        if stale:
            context.log.warning(f"not forecast, no {target} known for {integer('ML_STALE_ROOM_DAYS')} days or more: "
                                f"rooms {stale}")
        stored = store.latest_model(warehouse, target)
        if stored is None:
            raise dg.Failure(f"no {target} model yet: materialise {target}_model first")
        earlier = None if stored.passed_gates else store.latest_passed_model(
            warehouse, target, FEATURES, day - timedelta(days=integer("ML_FALLBACK_MODEL_DAYS")))
        published = stored if stored.passed_gates else earlier
        if published is not None:
            (fitted, extras, _), name, version = published.model, published.name, published.version
            if earlier is not None:
                context.log.warning(f"{stored.version} failed its gates: publishing {earlier.version}, the last "
                                    "model that passed")
        else:
            baseline = stored.model[2]
            name, version, fitted, extras = f"baseline:{baseline.name}", f"baseline-{stored.version}", baseline, None
            context.log.warning(f"{stored.version} failed its gates, and no model passed in the last "
                                f"{integer('ML_FALLBACK_MODEL_DAYS')} days: publishing the best baseline {baseline.name}")
        predicted = rows.select(bt.KEYS).with_columns(candidate=pl.lit(name), prediction=fitted.predict(rows),
                                                      model_version=pl.lit(version))
        predicted = use_case.finish(predicted, extras)
        written = store.upsert_predictions(warehouse, prediction_rows(predicted, use_case, "forecast", context.run_id))
        actuals = store.fill_actuals(warehouse, target)
        return dg.MaterializeResult(metadata={"forecast_day": str(day), "model_version": version, "model_name": name,
                                              "rows": written, "from_baseline": published is None,
                                              "from_earlier_model": earlier is not None,
                                              "rooms_not_forecast": dg.MetadataValue.json(stale),
                                              "earlier_forecasts_given_or_corrected_their_actual": actuals})

    return [features, backtest, model, forecast]


def model_card(version: str, selected: str, trained_from: date, trained_to: date, data: str,
               assessment: bt.Assessment, gates: dict[str, dict]) -> str:
    """What the model is and how it was judged, as markdown: version, training window and data fingerprint, code
    and library versions, the metrics on the held-out days as published, and each gate."""
    first, last = (cast(date, assessment.published["local_date"].min()),
                   cast(date, assessment.published["local_date"].max()))
    metrics = assessment.pooled.filter(pl.col("candidate") == selected).drop("candidate").to_dicts()[0]
    lines = [f"**{version}** ({selected})", "",
             f"- trained on {trained_from} to {trained_to}, data fingerprint `{data}`",
             f"- code `{store.CODE_VERSION}`; " + ", ".join(f"{name} {v}" for name, v in store.library_versions().items()),
             f"- chosen and calibrated on the backtest's earlier days; scored as published on {first} to {last}: "
             + ", ".join(f"{name} {value:.4g}" for name, value in metrics.items() if value is not None), "",
             "| gate | passed | detail |", "|---|---|---|",
             *(f"| {name} | {'yes' if gate['passed'] else 'no'} | {gate['detail']} |" for name, gate in gates.items())]
    return "\n".join(lines)


def current_rooms(frame: pl.DataFrame, day: date, stale_days: int) -> tuple[pl.DataFrame, list[int]]:
    """The rows of `day` of the rooms whose target is known on one of the `stale_days` days before it, and the
    rooms left out (sorted): a room that stopped reporting is not forecast from empty features."""
    last_known = frame.filter(pl.col("target").is_not_null()).group_by("room_key").agg(
        last=pl.col("local_date").max())
    rows = frame.filter(pl.col("local_date") == day).join(last_known, on="room_key", how="left")
    current = pl.col("last").is_not_null() & (pl.col("last") >= day - timedelta(days=stale_days))
    stale = sorted(rows.filter(~current)["room_key"].unique().to_list())
    return rows.filter(current).drop("last"), stale


def with_backtest_versions(predictions: pl.DataFrame, use_case: UseCase) -> pl.DataFrame:
    """The backtest's rows with the version of the model that made each: its candidate and the fingerprint of
    its block's training data (a block tested again in the next run keeps its version, and its rows)."""
    params = {candidate.name: candidate.params for candidate in use_case.candidates()}
    versions = [{"candidate": name, "training_data": data,
                 "model_version": store.model_version(use_case.name, f"backtest-{name}", data, FEATURES, params[name])}
                for name, data in predictions.select("candidate", "training_data").unique().iter_rows()]
    return predictions.join(pl.DataFrame(versions), on=["candidate", "training_data"])


def prediction_rows(predictions: pl.DataFrame, use_case: UseCase, kind: str, run_id: str) -> pl.DataFrame:
    """Rows of gold.fact_prediction from predictions with their `candidate` and `model_version`."""
    return predictions.select(
        kind=pl.lit(kind), model_name="candidate", model_version="model_version",
        target=pl.lit(use_case.name), apartment_key="apartment_key", room_key="room_key", window_start="window_start",
        issue_time="cutoff", **use_case.prediction_values(),
        lower_value=pl.col("lower") if "lower" in predictions.columns else pl.lit(None, pl.Float64),
        upper_value=pl.col("upper") if "upper" in predictions.columns else pl.lit(None, pl.Float64),
        actual="target", run_id=pl.lit(run_id))
