"""Forecast metrics (pure numpy). Occupancy: probabilities against 0/1 outcomes; power: watts."""

from __future__ import annotations

import numpy as np

EPSILON = 1e-6


def log_loss(actual: np.ndarray, probability: np.ndarray) -> float:
    p = np.clip(probability, EPSILON, 1 - EPSILON)
    return float(-np.mean(actual * np.log(p) + (1 - actual) * np.log(1 - p)))


def brier(actual: np.ndarray, probability: np.ndarray) -> float:
    return float(np.mean((probability - actual) ** 2))


def expected_calibration_error(actual: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate − mean probability| over equal-width probability bins, weighted by their size."""
    index = np.minimum((probability * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            error += chosen.mean() * abs(actual[chosen].mean() - probability[chosen].mean())
    return float(error)


def occupancy_metrics(actual: np.ndarray, probability: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """ROC AUC, log loss, Brier score and its skill against the baseline's probabilities, ECE."""
    from sklearn.metrics import roc_auc_score  # imported by ML runs only

    auc = float(roc_auc_score(actual, probability)) if 0 < actual.mean() < 1 else float("nan")
    reference = brier(actual, baseline)
    return {"rows": float(len(actual)), "auc": auc, "log_loss": log_loss(actual, probability),
            "brier": brier(actual, probability),
            "brier_skill": 1 - brier(actual, probability) / reference if reference > 0 else float("nan"),
            "ece": expected_calibration_error(actual, probability)}


def power_metrics(actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray,
                  lower: np.ndarray | None = None, upper: np.ndarray | None = None,
                  scale: np.ndarray | None = None) -> dict[str, float]:
    """MAE (W), WAPE, relative MAE (the MAE over the naive's MAE on the same rows), MASE where `scale` is given
    (each error over its room's in-sample seasonal-naive MAE, as Hyndman and Koehler define it), relative bias,
    and where an interval is given the share of actuals inside [lower, upper], its mean width and its Winkler
    score."""
    error = predicted - actual
    total = np.abs(actual).sum()
    naive_mae = np.mean(np.abs(naive - actual))
    metrics = {"rows": float(len(actual)), "mae": float(np.mean(np.abs(error))),
               "wape": float(np.abs(error).sum() / total) if total else float("nan"),
               "relative_mae": float(np.mean(np.abs(error)) / naive_mae) if naive_mae else float("nan"),
               "bias": float(error.sum() / total) if total else float("nan")}
    if scale is not None:
        usable = scale > 0
        metrics["mase"] = float(np.mean(np.abs(error[usable]) / scale[usable])) if usable.any() else float("nan")
    if lower is not None:
        if upper is None:
            raise ValueError("an interval needs both lower and upper")
        known = ~np.isnan(lower)
        low, high, seen = lower[known], upper[known], actual[known]
        inside = (seen >= low) & (seen <= high)
        metrics["coverage"] = float(inside.mean()) if known.any() else float("nan")
        metrics["interval_width"] = float(np.mean(high - low)) if known.any() else float("nan")
        metrics["winkler"] = float(np.mean(winkler(seen, low, high))) if known.any() else float("nan")
    return metrics


def winkler(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float = 0.2) -> np.ndarray:
    """The Winkler score of a (1 − alpha) interval: its width, plus 2 / alpha times the distance by which the
    actual falls outside it (lower is better)."""
    below, above = np.maximum(lower - actual, 0), np.maximum(actual - upper, 0)
    return (upper - lower) + 2 / alpha * (below + above)
