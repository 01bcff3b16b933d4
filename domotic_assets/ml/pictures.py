"""Pictures the UI shows with the ML assets, as PNG images embedded in markdown metadata."""

import base64
import io

import polars as pl

from domotic_assets.timing import TIMEZONE

WEEK_WINDOWS = 7 * 96


def pyplot():
    """matplotlib's pyplot rendering to memory (no display), imported by ML runs only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def markdown_image(figure, title: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    pyplot().close(figure)
    return f"![{title}](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"


def reliability_picture(predictions: pl.DataFrame, bins: int = 10) -> str:
    """Observed occupancy rate against the predicted probability, per candidate (a reliability curve)."""
    figure, axis = pyplot().subplots(figsize=(5, 4.5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for (candidate,), rows in predictions.group_by("candidate", maintain_order=True):
        curve = (rows.with_columns(bin=(pl.col("prediction").clip(0, 1) * bins).floor().clip(0, bins - 1))
                 .group_by("bin").agg(predicted=pl.col("prediction").mean(), observed=pl.col("target").mean())
                 .sort("bin"))
        axis.plot(curve["predicted"], curve["observed"], marker="o", label=candidate)
    axis.set(xlabel="predicted probability", ylabel="observed occupancy rate", xlim=(0, 1), ylim=(0, 1),
             title="Occupancy reliability (backtest)")
    axis.legend(loc="upper left", fontsize="small")
    return markdown_image(figure, "reliability curve")


def power_week_picture(predictions: pl.DataFrame, candidate: str) -> str:
    """The last backtest week of one candidate: predicted and actual power summed over rooms, with the summed
    80 % interval (a conservative band: interval bounds add up)."""
    week = (predictions.filter(pl.col("candidate") == candidate)
            .group_by("window_start").agg(pl.col("target", "prediction", "lower", "upper").sum())
            .sort("window_start").tail(WEEK_WINDOWS)
            .with_columns(pl.col("window_start").dt.convert_time_zone(TIMEZONE).dt.replace_time_zone(None)))
    figure, axis = pyplot().subplots(figsize=(10, 3.5))
    axis.fill_between(week["window_start"], week["lower"], week["upper"], color="tab:blue", alpha=0.2,
                      label="80 % interval")
    axis.plot(week["window_start"], week["target"], color="black", linewidth=0.8, label="actual")
    axis.plot(week["window_start"], week["prediction"], color="tab:blue", linewidth=1, label=candidate)
    axis.set(ylabel="mean power, all rooms (W)", title=f"Day-ahead power, last backtest week ({TIMEZONE})")
    axis.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    return markdown_image(figure, "predicted and actual power")
