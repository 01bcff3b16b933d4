"""Live skill: the forecasts that were published, scored against what then happened, beside the backtest's
held-out figures of the model that made them. A use case's headline metric (occupancy: log loss, power: MAE)
falling behind the backtest's by more than ML_LIVE_SKILL_MARGIN, or a baseline published in place of a model,
is a warning that reaches the alert webhook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

import polars as pl

from domotic_assets.ml.use_cases import UseCase
from resources.postgres import PostgresResource

SPANS = (7, 28)  # rolling days of windows with a known outcome
HEADLINE = {"occupancy": "log_loss", "power": "mae"}  # lower is better for both

PUBLISHED = """
    SELECT DISTINCT ON (room_key, window_start)
           room_key, window_start, model_name, coalesce(probability, value) AS prediction,
           lower_value AS lower, upper_value AS upper, actual AS target
    FROM gold.fact_prediction
    WHERE kind = 'forecast' AND target = %s AND actual IS NOT NULL
    ORDER BY room_key, window_start, issue_time DESC, written_at DESC"""
COLUMNS: dict[str, pl.DataType] = {
    "room_key": pl.Int64(), "window_start": pl.Datetime("us", "UTC"), "model_name": pl.String(),
    "prediction": pl.Float64(), "lower": pl.Float64(), "upper": pl.Float64(), "target": pl.Float64()}


def published_with_actuals(warehouse: PostgresResource, target: str, timezone: str) -> pl.DataFrame:
    """The forecast each window was last given, with its actual, and its local date."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(PUBLISHED, (target,))
        frame = pl.DataFrame(cursor.fetchall(), schema=COLUMNS, orient="row")
    return frame.with_columns(local_date=pl.col("window_start").dt.convert_time_zone(timezone).dt.date(),
                              candidate=pl.lit("published")).sort("room_key", "window_start")


@dataclass(frozen=True)
class LiveSkill:
    scores: dict[int, dict[str, float]]  # per span: the use case's metrics of the published forecasts
    last_day: date | None
    fallback_days: list[date]  # days of the last SPANS[0] with a baseline published in place of a model

    def behind(self, headline: str, backtest: float, margin: float) -> bool:
        """The longest span's headline metric worse than the backtest's by more than `margin` (relative)."""
        live = self.scores.get(SPANS[-1], {}).get(headline)
        return live is not None and live > backtest * (1 + margin)


def live_skill(rows: pl.DataFrame, baseline: pl.Series, use_case: UseCase) -> LiveSkill:
    """Scores of the published rows over each span up to their newest day, against the best baseline's
    predictions of the same rows (`baseline`, aligned with `rows`)."""
    if rows.is_empty():
        return LiveSkill({}, None, [])
    rows = rows.with_columns(baseline=baseline)
    last_day = cast(date, rows["local_date"].max())
    scores = {}
    for span in SPANS:
        recent = rows.filter(pl.col("local_date") > last_day - timedelta(days=span))
        scores[span] = use_case.metrics(recent, recent["baseline"].to_numpy())
    fallback = rows.filter((pl.col("local_date") > last_day - timedelta(days=SPANS[0]))
                           & pl.col("model_name").str.starts_with("baseline:"))
    return LiveSkill(scores, last_day, sorted(fallback["local_date"].unique().to_list()))
