"""What the silver assets share: check names, the retry policy, the missing-files rule, metadata helpers."""

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from domotic_assets.silver import store


def preview(frame: pl.DataFrame | None, limit: int = 10) -> dg.MetadataValue:
    """A markdown table of the first rows (shown on the materialisation in the UI)."""
    if frame is None or frame.is_empty():
        return dg.MetadataValue.md("no rows")
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in head.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines))


# Checks both silver file loaders evaluate with every materialisation.
FILES_ACCOUNTED_FOR = "files_accounted_for"
OUTLIER_SHARE = "outlier_share_below_1_percent"
OUTLIER_WARNING_SHARE = 0.01
SHARED_CHECKS = {
    FILES_ACCOUNTED_FOR: "bronze files = files loaded + files quarantined, per partition",
    OUTLIER_SHARE: f"outliers are below {OUTLIER_WARNING_SHARE:.0%} of the rows",
}


LEDGER_ROWS_MATCH_SILVER = "ledger_rows_match_silver"
# Transient warehouse errors (a restart, a deadlock victim) are retried with back-off, outside the step.
SILVER_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL)


class SilverLoadConfig(dg.Config):
    keep_missing_files: bool = False
    """Keep the silver rows of files that were loaded before but are gone from bronze (otherwise such a
    rerun fails and names them, so that silver never shrinks silently)."""


class MissingBronzeFiles(dg.Failure):
    """Files of record (in the ledger) are gone from bronze: reloading would drop their rows."""

    def __init__(self, day, missing: list[str]):
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        super().__init__(
            description=f"{day}: {len(missing)} files loaded earlier are no longer in bronze ({shown}); silver "
                        "keeps their rows. Restore them in BRONZE_ROOT, or re-run with run config "
                        "`keep_missing_files: true` to reload the day and keep their rows.",
            metadata={"missing_files": len(missing)}, allow_retries=False)


def missing_from_bronze(cursor, source: str, day: date, bronze: set[str], keep_missing: bool,
                        folders: store.Folders = None) -> list[str]:
    """Loaded files of the day (or of its `folders`) no longer in bronze: kept when retention removed them or on
    request, otherwise the day fails by name (a reload would drop their rows)."""
    missing = sorted(set(store.ledger_of_day(cursor, source, day, folders)) - bronze)
    unexpected = sorted(set(missing) - store.removed_by_retention(cursor, source, day))
    if unexpected and not keep_missing:
        raise MissingBronzeFiles(day, unexpected)
    return missing


def require_bronze_root(root: Path) -> None:
    """A missing BRONZE_ROOT (not mounted, mistyped) is an error, never an empty day."""
    if not root.is_dir():
        raise dg.Failure(description=f"BRONZE_ROOT {root} does not exist or is not a folder: mount it or fix "
                                     "BRONZE_ROOT; nothing was changed in silver", allow_retries=False)


def outlier_share_failures(outliers: int, rows: int) -> list[str]:
    """The outlier check's failure, if the share of outliers reaches the warning share."""
    share = outliers / rows if rows else 0.0
    return [f"{share:.2%} of the rows are outliers"] if share >= OUTLIER_WARNING_SHARE else []


def table_metadata(table: str, columns: dict[str, tuple[str, str]]) -> dict:
    """Definition metadata naming the table and its columns (what dbt sources and the catalog show)."""
    return {"dagster/table_name": table,
            "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, kind, description=text)
                                                             for name, (kind, text) in columns.items()])}


def check_results(failures: dict[str, list[str]], warn_only: set[str]) -> list[dg.AssetCheckResult]:
    """One result per check: passed when it has no failures; the first examples in the metadata."""
    return [dg.AssetCheckResult(check_name=name, passed=not found,
                                severity=dg.AssetCheckSeverity.WARN if name in warn_only else dg.AssetCheckSeverity.ERROR,
                                metadata={"failures": len(found), "examples": "\n".join(found[:20]) or "none"})
            for name, found in failures.items()]


def check_specs(asset: str, checks: dict[str, str], blocking: set[str]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, description=text, blocking=name in blocking)
            for name, text in checks.items()]
