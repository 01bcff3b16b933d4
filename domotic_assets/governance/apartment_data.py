"""Everything the warehouse and bronze hold about one apartment: found, counted, exported and erased.

The tables are discovered, not listed: every table of `silver`, `gold` and `ml` with an `apartment` column
(the apartment id) or an `apartment_key` column (its surrogate key, `governance.apartment_key`), so a table
added later is covered without a code change, and the device-health alerts and alerts of `governance`. Views are left out
(they show what the tables hold).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from psycopg2 import sql

from sensors_io.bronze_layout import REASONS_FOLDER, REJECTED_FOLDER, WEATHER_FOLDER

SCHEMAS = ("silver", "gold", "ml")
# the governance tables that name apartments: alerts, and who sees the apartment (its dashboard users' mapping)
GOVERNANCE_TABLES = ("governance.device_alerts", "governance.alerts", "governance.apartment_access")


@dataclass(frozen=True)
class ApartmentTable:
    schema: str
    table: str
    column: str  # `apartment` (the id) or `apartment_key` (the surrogate key)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    def where(self, apartment: str) -> sql.Composed:
        value = sql.Literal(apartment) if self.column == "apartment" else sql.SQL(
            "governance.apartment_key({})").format(sql.Literal(apartment))
        return sql.SQL("{} = {}").format(sql.Identifier(self.column), value)

    def selection(self, apartment: str) -> sql.Composed:
        return sql.SQL("SELECT * FROM {} WHERE {}").format(
            sql.Identifier(self.schema, self.table), self.where(apartment))


def apartment_tables(cursor) -> list[ApartmentTable]:
    """The tables holding apartment rows (partitioned tables once, not per partition)."""
    cursor.execute("""
        SELECT n.nspname, c.relname, a.attname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped
        WHERE (n.nspname = ANY(%s) OR n.nspname || '.' || c.relname = ANY(%s))
          AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attname IN ('apartment', 'apartment_key')
        ORDER BY 1, 2""", (list(SCHEMAS), list(GOVERNANCE_TABLES)))
    return [ApartmentTable(*row) for row in cursor.fetchall()]


def count_rows(cursor, tables: list[ApartmentTable], apartment: str) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
            sql.Identifier(table.schema, table.table), table.where(apartment)))
        counts[table.name] = cursor.fetchone()[0]
    return counts


def export_csv(cursor, table: ApartmentTable, apartment: str) -> bytes:
    """The apartment's rows of one table as CSV with a header (COPY, so values read back exactly)."""
    buffer = io.BytesIO()
    cursor.copy_expert(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(
        table.selection(apartment)).as_string(cursor), buffer)
    return buffer.getvalue()


def delete_rows(cursor, tables: list[ApartmentTable], apartment: str) -> dict[str, int]:
    deleted = {}
    for table in tables:
        cursor.execute(sql.SQL("DELETE FROM {} WHERE {}").format(
            sql.Identifier(table.schema, table.table), table.where(apartment)))
        deleted[table.name] = cursor.rowcount
    return deleted


def rejected_without_apartment(cursor, smb_users: set[str], delete: bool = False) -> int:
    """Rows of silver.rejected_files that name no apartment (a name that did not parse) but one of its SMB
    users, in any case: counted, or deleted."""
    patterns = [f"%\\_{user.lower()}\\_%" for user in smb_users]
    cursor.execute(sql.SQL("{} FROM silver.rejected_files WHERE apartment IS NULL AND lower(file) LIKE ANY(%s)").format(
        sql.SQL("DELETE") if delete else sql.SQL("SELECT count(*)")), (patterns,))
    return cursor.rowcount if delete else cursor.fetchone()[0]


def bronze_files(root: Path, apartment: str, smb_users: set[str]) -> Iterator[Path]:
    """The apartment's files in bronze: its folder, and rejected files and their reason notes named after one
    of its SMB users, in any case (`_jimmyloup_` is JimmyLoup's too)."""
    if apartment not in (WEATHER_FOLDER, REJECTED_FOLDER) and (root / apartment).is_dir():
        yield from sorted(path for path in (root / apartment).rglob("*") if path.is_file())
    marks = {f"_{user.lower()}_" for user in smb_users}
    for folder in (root / REJECTED_FOLDER, root / REJECTED_FOLDER / REASONS_FOLDER):
        if folder.is_dir() and marks:
            yield from sorted(path for path in folder.iterdir()
                              if path.is_file() and any(mark in path.name.lower() for mark in marks))


def bronze_listing_csv(root: Path, files: list[Path]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["path", "bytes", "modified_epoch"])
    for path in files:
        stat = path.stat()
        writer.writerow([str(path.relative_to(root)), stat.st_size, int(stat.st_mtime)])
    return text.getvalue().encode("utf-8")
