"""The two forecasting use cases as objects: what each forecasts, its candidates, metrics, selection, quality
gates, the production pieces fitted on its backtest (a calibration, an interval) and its picture. The ML assets,
the backtest and the store take a use case; nothing else branches on which one it is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import polars as pl

from domotic_assets.ml import backtest as bt
from domotic_assets.ml.gates import AUC_FLOOR, AUC_LEAKAGE_ALARM, COVERAGE, POWER_MAE_SHARE, ROOM_COVERAGE, gate
from domotic_assets.ml.metrics import occupancy_metrics, power_metrics
from domotic_assets.ml.models import Baseline, LightGBM, Linear
from domotic_assets.ml.pictures import power_week_picture, reliability_picture


class UseCase(ABC):
    """A day-ahead forecast for every room and 15-minute window. `actual_column` is the grid column that is
    the target (`domotic_assets/ml/data.py`); a model passes only if it beats the best of its baselines."""

    name: str
    actual_column: str

    @abstractmethod
    def candidates(self) -> list:
        """Every candidate, the baselines first (the first one is the reference of the relative metrics)."""

    def baselines(self) -> list[str]:
        return [candidate.name for candidate in self.candidates() if isinstance(candidate, Baseline)]

    @abstractmethod
    def best_baseline(self, pooled: pl.DataFrame) -> str:
        """The baseline a model must beat, and the one published when the model fails its gates."""

    @abstractmethod
    def metrics(self, frame: pl.DataFrame, baseline: np.ndarray) -> dict[str, float]:
        """The metrics of one candidate's backtest rows against the baseline's predictions of the same rows."""

    @abstractmethod
    def select(self, pooled: pl.DataFrame) -> str:
        """The candidate the model is trained from, by the backtest's pooled metrics."""

    @abstractmethod
    def gates(self, pooled: pl.DataFrame, selected: str, per_room: pl.DataFrame | None = None) -> dict[str, dict]:
        """Each quality gate: passed, and a sentence with the figures (`per_room`: the metrics per room)."""

    def backtest_predictions(self, predictions: pl.DataFrame) -> pl.DataFrame:
        """The backtest's predictions as they are scored (power adds its honest intervals)."""
        return predictions

    def as_published(self, predictions: pl.DataFrame, selected: str, extras: Any) -> pl.DataFrame:
        """The backtest's evaluation days with the selected candidate's predictions as production publishes them
        (`finish` with the `extras` production uses, fitted without those days); other candidates unchanged."""
        return bt.evaluation_days(predictions)

    @abstractmethod
    def production_extras(self, predictions: pl.DataFrame, selected: str) -> Any:
        """What the published forecast needs from the selected candidate's backtest."""

    @abstractmethod
    def finish(self, predicted: pl.DataFrame, extras: Any) -> pl.DataFrame:
        """The published predictions; `extras` is None for a baseline published in place of a failed model."""

    @abstractmethod
    def picture(self, predictions: pl.DataFrame, selected: str) -> str:
        """A PNG in markdown for the backtest's metadata."""

    @abstractmethod
    def prediction_values(self) -> dict[str, pl.Expr]:
        """The `probability` and `value` columns of gold.fact_prediction."""


class Occupancy(UseCase):
    """The probability that a room with a motion sensor is occupied (any motion) in the window."""

    name, actual_column = "occupancy", "occupied"

    def candidates(self) -> list:
        return [Baseline("slot_of_week_smoothed", "slot_of_week_smoothed", "mean_28d"),
                Baseline("base_rate", "mean_28d"),
                Linear("logistic_regression", classifier=True), LightGBM("lightgbm", classifier=True)]

    def best_baseline(self, pooled: pl.DataFrame) -> str:
        """The baseline with the lowest log loss."""
        return pooled.filter(pl.col("candidate").is_in(self.baselines())).sort("log_loss")["candidate"][0]

    def metrics(self, frame: pl.DataFrame, baseline: np.ndarray) -> dict[str, float]:
        return occupancy_metrics(frame["target"].to_numpy(), np.clip(frame["prediction"].to_numpy(), 0, 1), baseline)

    def select(self, pooled: pl.DataFrame) -> str:
        """The lowest log loss."""
        return pooled.sort("log_loss")["candidate"][0]

    def gates(self, pooled: pl.DataFrame, selected: str, per_room: pl.DataFrame | None = None) -> dict[str, dict]:
        rows = {row["candidate"]: row for row in pooled.to_dicts()}
        chosen = rows[selected]
        by_brier = min(self.baselines(), key=lambda name: rows[name]["brier"])
        by_log_loss = self.best_baseline(pooled)
        skill = 1 - chosen["brier"] / rows[by_brier]["brier"] if rows[by_brier]["brier"] > 0 else float("nan")
        return {
            "brier_skill_above_0": gate(skill > 0, f"Brier skill score {skill:.3f} against the best baseline "
                                                   f"({by_brier}, Brier {rows[by_brier]['brier']:.4f})"),
            "log_loss_below_baseline": gate(chosen["log_loss"] < rows[by_log_loss]["log_loss"],
                                            f"log loss {chosen['log_loss']:.4f} vs the best baseline ({by_log_loss}) "
                                            f"{rows[by_log_loss]['log_loss']:.4f}"),
            "auc_in_range": gate(AUC_FLOOR <= chosen["auc"] < AUC_LEAKAGE_ALARM,
                                 f"AUC {chosen['auc']:.3f} (floor {AUC_FLOOR}, leakage alarm at {AUC_LEAKAGE_ALARM})"),
        }

    def production_extras(self, predictions: pl.DataFrame, selected: str) -> Any:
        """The isotonic calibration of the selected candidate, fitted on the backtest's choosing days only."""
        return bt.calibration(bt.choosing_days(predictions), selected)

    def as_published(self, predictions: pl.DataFrame, selected: str, extras: Any) -> pl.DataFrame:
        """The selected candidate's probabilities calibrated as production calibrates them."""
        scored = bt.evaluation_days(predictions)
        chosen = scored.filter(pl.col("candidate") == selected)
        return pl.concat([scored.filter(pl.col("candidate") != selected),
                          self.finish(chosen, extras).select(scored.columns)])

    def finish(self, predicted: pl.DataFrame, extras: Any) -> pl.DataFrame:
        """Probabilities clipped to [0, 1], calibrated when a calibration was fitted."""
        probability = np.clip(predicted["prediction"].to_numpy(), 0, 1)
        return predicted.with_columns(prediction=extras.predict(probability) if extras is not None else probability)

    def picture(self, predictions: pl.DataFrame, selected: str) -> str:
        return reliability_picture(predictions)

    def prediction_values(self) -> dict[str, pl.Expr]:
        return {"probability": pl.col("prediction"), "value": pl.lit(None, pl.Float64)}


class Power(UseCase):
    """The mean power (W) of a room with a plug in the window, with an 80 % interval."""

    name, actual_column = "power", "power_w"

    def candidates(self) -> list:
        return [Baseline("same_slot_last_week", "lag_7d", "mean_7d"),
                Baseline("same_slot_7d_mean", "mean_7d", "lag_7d"),
                Baseline("same_slot_4w_median", "median_4w", "mean_7d"),
                Linear("linear_regression", classifier=False), LightGBM("lightgbm", classifier=False)]

    def metrics(self, frame: pl.DataFrame, baseline: np.ndarray) -> dict[str, float]:
        lower, upper = ((frame["lower"].to_numpy(), frame["upper"].to_numpy()) if "lower" in frame.columns
                        else (None, None))
        scale = frame["naive_scale"].fill_null(0).to_numpy() if "naive_scale" in frame.columns else None
        return power_metrics(frame["target"].to_numpy(), frame["prediction"].to_numpy(), baseline, lower, upper, scale)

    def best_baseline(self, pooled: pl.DataFrame) -> str:
        """The baseline with the lowest MAE."""
        return pooled.filter(pl.col("candidate").is_in(self.baselines())).sort("mae")["candidate"][0]

    def select(self, pooled: pl.DataFrame) -> str:
        """The lowest MAE, the smaller absolute bias breaking ties."""
        return pooled.with_columns(abs_bias=pl.col("bias").abs()).sort("mae", "abs_bias")["candidate"][0]

    def gates(self, pooled: pl.DataFrame, selected: str, per_room: pl.DataFrame | None = None) -> dict[str, dict]:
        rows = {row["candidate"]: row for row in pooled.to_dicts()}
        chosen = rows[selected]
        best = self.best_baseline(pooled)
        rooms = {} if per_room is None else {row["room_key"]: row for row in per_room.filter(
            pl.col("candidate") == selected).to_dicts()}
        outside = {room: row.get("coverage") for room, row in rooms.items() if not room_coverage_ok(row)}
        naive = rows[best]["mae"]
        coverage = chosen.get("coverage")
        shown = f"{coverage:.3f}" if coverage is not None else "unknown"
        return {
            "mae_beats_naive": gate(chosen["mae"] <= POWER_MAE_SHARE * naive,
                                    f"MAE {chosen['mae']:.1f} W vs {POWER_MAE_SHARE} × the best baseline's ({best}) "
                                    f"{naive:.1f} W"),
            "interval_coverage": gate(coverage is not None and COVERAGE[0] <= coverage <= COVERAGE[1],
                                      f"80 % interval coverage {shown} (wanted {COVERAGE[0]}–{COVERAGE[1]})"),
            "interval_coverage_per_room": gate(
                per_room is not None and not outside,
                f"{len(rooms) - len(outside)} of {len(rooms)} rooms with 80 % interval coverage in "
                f"{ROOM_COVERAGE[0]}–{ROOM_COVERAGE[1]}" + (f"; outside: {outside}" if outside else "")),
        }

    def backtest_predictions(self, predictions: pl.DataFrame) -> pl.DataFrame:
        return bt.with_intervals(predictions)

    def production_extras(self, predictions: pl.DataFrame, selected: str) -> Any:
        """Residual quantiles per room and lead hour of the selected candidate's backtest."""
        return bt.residual_quantiles(predictions.filter(pl.col("candidate") == selected).with_columns(
            residual=pl.col("target") - pl.col("prediction"), lead=pl.col("lead_hours").floor().cast(pl.Int32)))

    def finish(self, predicted: pl.DataFrame, extras: Any) -> pl.DataFrame:
        """Values with their 80 % interval of the room (none for a baseline published in place of a failed
        model, nor for a room the backtest did not see)."""
        if extras is None:
            return predicted.with_columns(lower=pl.lit(None, pl.Float64), upper=pl.lit(None, pl.Float64))
        rows = predicted.with_columns(lead=pl.col("lead_hours").floor().cast(pl.Int32))
        return bt.with_bounds(rows, extras.drop("candidate")).drop("lead")  # the selected candidate's quantiles

    def picture(self, predictions: pl.DataFrame, selected: str) -> str:
        return power_week_picture(predictions, selected)

    def prediction_values(self) -> dict[str, pl.Expr]:
        return {"probability": pl.lit(None, pl.Float64), "value": pl.col("prediction")}


def room_coverage_ok(row: dict) -> bool:
    """A room's 80 % interval covers 70–90 % of its actuals. Above 90 % is accepted only for an interval of no
    width: a room at rest most of the time (a plug reading 0 W) has its actual exactly on the prediction in more
    than 90 % of its windows, and no interval that is not randomised can cover less than those."""
    coverage, width = row.get("coverage"), row.get("interval_width")
    if coverage is None or coverage != coverage:  # none, or NaN
        return False
    return ROOM_COVERAGE[0] <= coverage and (coverage <= ROOM_COVERAGE[1] or width == 0)


OCCUPANCY, POWER = Occupancy(), Power()
USE_CASES: tuple[UseCase, ...] = (OCCUPANCY, POWER)
