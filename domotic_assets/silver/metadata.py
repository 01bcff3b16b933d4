"""Metadata helpers shared by the silver assets."""

import dagster as dg
import polars as pl


def preview(frame: pl.DataFrame | None, limit: int = 10) -> dg.MetadataValue:
    """A markdown table of the first rows (shown on the materialisation in the UI)."""
    if frame is None or frame.is_empty():
        return dg.MetadataValue.md("no rows")
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in head.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines))


def check_results(failures: dict[str, list[str]], warn_only: set[str]) -> list[dg.AssetCheckResult]:
    """One result per check: passed when it has no failures; the first examples in the metadata."""
    return [dg.AssetCheckResult(check_name=name, passed=not found,
                                severity=dg.AssetCheckSeverity.WARN if name in warn_only else dg.AssetCheckSeverity.ERROR,
                                metadata={"failures": len(found), "examples": "\n".join(found[:20]) or "none"})
            for name, found in failures.items()]


def check_specs(asset: str, checks: dict[str, str], blocking: set[str]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, description=text, blocking=name in blocking)
            for name, text in checks.items()]
