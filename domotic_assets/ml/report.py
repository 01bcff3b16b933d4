"""Markdown the UI shows with the ML assets: comparison tables, a reliability table, feature importance."""

from __future__ import annotations

import polars as pl

BAR = 30


def comparison_markdown(table: pl.DataFrame) -> str:
    columns = table.columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table.iter_rows():
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def reliability_markdown(predictions: pl.DataFrame, bins: int = 10) -> str:
    """Observed occupancy rate per predicted-probability bin, with a bar per bin (a reliability curve)."""
    table = (predictions.with_columns(bin=(pl.col("prediction").clip(0, 1) * bins).floor().clip(0, bins - 1))
             .group_by("bin").agg(predicted=pl.col("prediction").mean(), observed=pl.col("target").mean(),
                                  windows=pl.len()).sort("bin"))
    lines = ["| predicted | observed | windows | observed rate |", "|---|---|---|---|"]
    for row in table.iter_rows(named=True):
        lines.append(f"| {row['predicted']:.2f} | {row['observed']:.2f} | {row['windows']} | "
                     f"`{'█' * round(row['observed'] * BAR)}` |")
    return "\n".join(lines)


def importance_markdown(importance: dict[str, float], top: int = 15) -> str:
    ranked = sorted(importance.items(), key=lambda item: -item[1])[:top]
    largest = ranked[0][1] or 1.0
    lines = ["| feature | gain | |", "|---|---|---|"]
    lines += [f"| {name} | {gain:.0f} | `{'█' * round(gain / largest * BAR)}` |" for name, gain in ranked]
    return "\n".join(lines)
