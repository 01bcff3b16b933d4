"""An erased apartment's names in Dagster's own storage (run configs, logs, metadata, sensor cursors, tags):
replaced by a pseudonym in every text column of that database, when it is PostgreSQL (docs/governance.md#gdpr-requests)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import psycopg2
from psycopg2 import sql

TEXT_TYPES = ("text", "character varying", "json", "jsonb")
NAME = re.compile(r"[A-Za-z0-9-]+\Z")


def bounded(term: str) -> str:
    """A PostgreSQL pattern for `term` as a whole word: not inside a longer run of letters and digits
    (`_JimmyLoup_`, `/jimmy/` and `jimmy,` match; `jimmyloup` does not match `jimmy`)."""
    if not NAME.match(term):
        raise ValueError(f"{term!r} is not an id or a user name")
    return f"(?<![A-Za-z0-9]){term}(?![A-Za-z0-9])"


def scrub(postgres_url: str, pseudonyms: Mapping[str, str]) -> dict[str, int]:
    """Replace each name (case-insensitive) by its pseudonym in every text column of every table of the
    storage's schema; rows changed per table."""
    url = postgres_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    changed: dict[str, int] = {}
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("""SELECT table_name, column_name, data_type FROM information_schema.columns
                          WHERE table_schema = current_schema() AND data_type = ANY(%s)
                          ORDER BY table_name, column_name""", (list(TEXT_TYPES),))
        for table, column, data_type in cursor.fetchall():
            for name, pseudonym in pseudonyms.items():
                text = sql.SQL("{}::text").format(sql.Identifier(column))
                replaced = sql.SQL("regexp_replace({}, %(pattern)s, %(pseudonym)s, 'gi')").format(text)
                if data_type in ("json", "jsonb"):
                    replaced = sql.SQL("({})::{}").format(replaced, sql.SQL(data_type))
                cursor.execute(sql.SQL("UPDATE {} SET {} = {} WHERE {} ~* %(pattern)s").format(
                    sql.Identifier(table), sql.Identifier(column), replaced, text),
                    {"pattern": bounded(name), "pseudonym": pseudonym})
                if cursor.rowcount:
                    changed[table] = changed.get(table, 0) + cursor.rowcount
    return changed
