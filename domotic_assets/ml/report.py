"""Markdown tables the UI shows with the ML assets: candidate comparisons and feature importance."""

from __future__ import annotations

import polars as pl

BAR = 30


def comparison_markdown(table: pl.DataFrame) -> str:
    columns = table.columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table.iter_rows():
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def importance_markdown(importance: dict[str, float], top: int = 15) -> str:
    ranked = sorted(importance.items(), key=lambda item: -item[1])[:top]
    largest = ranked[0][1] or 1.0
    lines = ["| feature | gain | |", "|---|---|---|"]
    lines += [f"| {name} | {gain:.0f} | `{'█' * round(gain / largest * BAR)}` |" for name, gain in ranked]
    return "\n".join(lines)
