"""Rolling-origin backtests: one cutoff per local day over the last days of data, an expanding training
window refitted every `refit_every` days, every candidate on the same cutoffs; metrics, selection, and the
out-of-sample pieces production needs (a calibration for probabilities, residual quantiles per room and lead).

An honest assessment (`assess`): the candidate is chosen and its calibration fitted on the earlier days of the
backtest only; the gates and the reported metrics score the predictions as production publishes them on the
last quarter of its days, which none of those steps saw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from domotic_assets.ml import store

if TYPE_CHECKING:
    from domotic_assets.ml.use_cases import UseCase

KEYS = ("room_key", "apartment_key", "window_start", "local_date", "cutoff", "lead_hours", "target")
INTERVAL = (0.1, 0.9)  # an 80 % interval
MIN_RESIDUALS = 200
REFIT_EPOCH = date(2024, 1, 1)  # a Monday: weekly refit blocks run Monday to Sunday
EVALUATION_SHARE = 4  # the last quarter of the backtest's days (7 of 28) is held out for the assessment


def ended_by(cutoff) -> pl.Expr:
    """Rows whose window ended by `cutoff`: their outcome was known at that instant."""
    return pl.col("window_start") + pl.duration(minutes=15) <= cutoff


def run_backtest(features: pl.DataFrame, use_case: UseCase, days: int = 28, refit_every: int = 7) -> pl.DataFrame:
    """Out-of-sample predictions of every candidate: KEYS + naive_scale, candidate, prediction and
    `training_data` (the fingerprint of the block's training set, which the stored model version hashes).

    Blocks are calendar-aligned (`block_start`: Monday to Sunday by default) and a block's training set ends at
    the cutoff of its first calendar day, tested or not: a block's models and predictions are the same in every
    daily run that tests it, so the backtest is stored once per model version, not once per run."""
    known = features.filter(pl.col("target").is_not_null())
    known_days = sorted(known["local_date"].unique().to_list())
    learnt = known_days[0] + timedelta(days=refit_every) if known_days else None  # a first fit learns a week or more
    test_days = [day for day in known_days if learnt is not None and block_start(day, refit_every) >= learnt][-days:]
    if len(test_days) < refit_every:
        raise ValueError(f"{use_case.name}: a backtest needs {refit_every} days with known targets to learn from, "
                         f"then {refit_every} to test from a block's first day (a Monday for weekly blocks): "
                         f"{2 * refit_every} to {3 * refit_every - 1} days in all; gold has {len(known_days)} days")
    cutoffs = dict(features.group_by("local_date").agg(pl.col("cutoff").min()).iter_rows())
    blocks = []
    for start, block in groupby(test_days, key=lambda day: block_start(day, refit_every)):
        test = known.filter(pl.col("local_date").is_in(list(block)))
        train = known.filter(ended_by(cutoffs[start]))  # what was known when the block's first day was issued
        scaled = test.join(seasonal_naive_scale(train), on="room_key", how="left").with_columns(
            training_data=pl.lit(store.data_fingerprint(train)))
        for candidate in use_case.candidates():
            predicted = candidate.fit(train).predict(test)
            blocks.append(scaled.select(*KEYS, "naive_scale", "training_data").with_columns(
                candidate=pl.lit(candidate.name), prediction=predicted))
    return pl.concat(blocks)


def block_start(day: date, refit_every: int) -> date:
    """The first day of `day`'s refit block: blocks of `refit_every` days from a Monday (REFIT_EPOCH)."""
    return day - timedelta(days=(day - REFIT_EPOCH).days % refit_every)


def seasonal_naive_scale(train: pl.DataFrame) -> pl.DataFrame:
    """Per room, the in-sample MAE of the seasonal naive forecast (the same local slot a week before) on the
    training rows: the scale of MASE."""
    return (train.filter(pl.col("lag_7d").is_not_null())
            .group_by("room_key").agg(naive_scale=(pl.col("target") - pl.col("lag_7d")).abs().mean()))


def with_intervals(predictions: pl.DataFrame) -> pl.DataFrame:
    """Lower and upper bounds from the residuals of earlier backtest days only (per candidate, room and lead
    hour), so the coverage measured on the backtest is honest; days without enough history get none."""
    rows = predictions.with_columns(residual=pl.col("target") - pl.col("prediction"),
                                    lead=pl.col("lead_hours").floor().cast(pl.Int32))
    out = []
    for day in sorted(rows["local_date"].unique().to_list()):
        today = rows.filter(pl.col("local_date") == day)
        history = rows.filter(ended_by(today["cutoff"].min()))
        out.append(with_bounds(today, residual_quantiles(history)))
    return pl.concat(out, how="diagonal_relaxed").drop("residual", "lead")


def residual_quantiles(rows: pl.DataFrame) -> pl.DataFrame:
    """The residual quantiles of INTERVAL per candidate, room and lead hour; where a room's lead hour has fewer
    than MIN_RESIDUALS residuals, the room's over every lead, and where the room has fewer, the candidate's.
    Each room has its own interval: one room's watts never widen or narrow another's."""
    schema = {"candidate": pl.String, "room_key": pl.Int64, "lead": pl.Int32, "q_low": pl.Float64,
              "q_high": pl.Float64}
    if rows.is_empty():
        return pl.DataFrame(schema=schema)

    def quantiles(*by: str, suffix: str) -> pl.DataFrame:
        return rows.group_by(*by).agg(pl.col("residual").quantile(INTERVAL[0]).alias(f"q_low{suffix}"),
                                      pl.col("residual").quantile(INTERVAL[1]).alias(f"q_high{suffix}"),
                                      pl.len().alias(f"count{suffix}"))

    enough = [pl.col(f"count{suffix}") >= MIN_RESIDUALS for suffix in ("", "_room")]
    return (quantiles("candidate", "room_key", "lead", suffix="")
            .join(quantiles("candidate", "room_key", suffix="_room"), on=["candidate", "room_key"])
            .join(quantiles("candidate", suffix="_all"), on="candidate")
            .select("candidate", pl.col("room_key").cast(pl.Int64), pl.col("lead").cast(pl.Int32), *(
                pl.when(enough[0]).then(f"{bound}").when(enough[1]).then(f"{bound}_room")
                .otherwise(f"{bound}_all").alias(bound) for bound in ("q_low", "q_high"))))


def with_bounds(rows: pl.DataFrame, quantiles: pl.DataFrame) -> pl.DataFrame:
    """`lower` and `upper` of each row (`lead` = its lead hour) from the quantiles of its room and lead (and
    candidate, when the quantiles have several); a room or lead without quantiles gets none."""
    keys = [key for key in ("candidate", "room_key", "lead") if key in quantiles.columns]
    return (rows.with_columns(pl.col("room_key").cast(pl.Int64))
            .join(quantiles, on=keys, how="left")
            .with_columns(lower=pl.col("prediction") + pl.col("q_low"), upper=pl.col("prediction") + pl.col("q_high"))
            .drop("q_low", "q_high"))


def evaluate(predictions: pl.DataFrame, use_case: UseCase, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """One row of metrics per candidate (and per `by` group), against the use case's first baseline on the
    same rows."""
    baseline = use_case.candidates()[0].name
    paired = predictions.join(
        predictions.filter(pl.col("candidate") == baseline).select("room_key", "window_start", "cutoff",
                                                                   baseline_prediction="prediction"),
        on=["room_key", "window_start", "cutoff"])
    rows = []
    for group, frame in paired.group_by("candidate", *by, maintain_order=True):
        metrics = use_case.metrics(frame, frame["baseline_prediction"].to_numpy())
        rows.append({"candidate": group[0], **dict(zip(by, group[1:], strict=True)), **metrics})
    return pl.DataFrame(rows)


def calibration(predictions: pl.DataFrame, candidate: str):
    """Isotonic calibration of a candidate's probabilities, fitted on its out-of-sample backtest only."""
    from sklearn.isotonic import IsotonicRegression  # imported by ML runs only

    rows = predictions.filter(pl.col("candidate") == candidate)
    return IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(
        np.clip(rows["prediction"].to_numpy(), 0, 1), rows["target"].to_numpy())


def choosing_days(predictions: pl.DataFrame) -> pl.DataFrame:
    """The backtest's rows of its earlier days whose outcome was known when the first held-out forecast was
    issued: the candidate is chosen and calibrated on these only."""
    held_out = evaluation_days(predictions)
    return predictions.filter(ended_by(held_out["cutoff"].min()))


def evaluation_days(predictions: pl.DataFrame) -> pl.DataFrame:
    """The backtest's rows of its last quarter of days (at least one): scored, never chosen or calibrated on."""
    return predictions.filter(pl.col("local_date") >= _first_evaluation_day(predictions))


def _first_evaluation_day(predictions: pl.DataFrame):
    days = sorted(predictions["local_date"].unique().to_list())
    return days[-max(1, len(days) // EVALUATION_SHARE)]


@dataclass(frozen=True)
class Assessment:
    selected: str
    chosen_on: pl.DataFrame  # pooled metrics of every candidate on the choosing days
    published: pl.DataFrame  # the evaluation days' rows, the selected candidate's as production publishes them
    pooled: pl.DataFrame  # metrics of `published`, pooled
    per_room: pl.DataFrame  # and per room
    extras: Any  # what production publishes the selected candidate with (its calibration, its intervals)


def assess(predictions: pl.DataFrame, use_case: UseCase) -> Assessment:
    """Choose on the earlier days, then score the published predictions on the later ones (module docstring)."""
    chosen_on = evaluate(choosing_days(predictions), use_case)
    selected = use_case.select(chosen_on)
    extras = use_case.production_extras(predictions, selected)
    published = use_case.as_published(predictions, selected, extras)
    return Assessment(selected, chosen_on, published, evaluate(published, use_case),
                      evaluate(published, use_case, ("room_key",)), extras)
