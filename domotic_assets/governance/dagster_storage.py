"""An erased apartment's names in Dagster's own storage (run configs, logs, metadata, sensor cursors, tags):
replaced by a pseudonym in every text column of that database, when it is PostgreSQL (docs/governance.md#gdpr-requests).

The storage holds serialized JSON as text, so a name is replaced only where that cannot change its structure: a
whole word (not inside a longer run of letters, digits and `-`; after `\\n` too), of at least 4 characters,
starting with a letter, and never a JSON literal or a key of the storage's objects. Other names are reported as
not scrubbed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field

import psycopg2
from psycopg2 import sql

TEXT_TYPES = ("text", "character varying", "json", "jsonb")
SCRUBBABLE = re.compile(r"[A-Za-z][A-Za-z0-9-]{3,}\Z")
JSON_WORDS = {"true", "false", "null"}


@dataclass
class Scrubbed:
    rows: dict[str, int] = field(default_factory=dict)  # rows changed per table
    kept: list[str] = field(default_factory=list)  # names that cannot be replaced safely


def bounded(names: Iterable[str]) -> str:
    """A PostgreSQL pattern for any of `names` as a whole word."""
    return f"(?<![A-Za-z0-9-]|\\\\[nrt])({'|'.join(sorted(names))})(?![A-Za-z0-9-])"


def scrub(postgres_url: str, names: Iterable[str], pseudonym: str) -> Scrubbed:
    """Replace each name (case-insensitive) by `pseudonym` in every text column of the storage's schema."""
    result = Scrubbed()
    url = postgres_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    with closing(psycopg2.connect(url)) as connection, connection, connection.cursor() as cursor:
        cursor.execute("""SELECT table_name, column_name, data_type FROM information_schema.columns
                          WHERE table_schema = current_schema() AND data_type = ANY(%s)
                          ORDER BY table_name, column_name""", (list(TEXT_TYPES),))
        columns = cursor.fetchall()
        safe = set()
        for name in sorted(set(names)):
            if not SCRUBBABLE.match(name) or name.lower() in JSON_WORDS or _is_a_key(cursor, columns, name):
                result.kept.append(name)
            else:
                safe.add(name)
        if not safe:
            return result
        pattern = bounded(safe)
        for table, column, data_type in columns:
            text = sql.SQL("{}::text").format(sql.Identifier(column))
            replaced = sql.SQL("regexp_replace({}, %(pattern)s, %(pseudonym)s, 'gi')").format(text)
            if data_type in ("json", "jsonb"):
                replaced = sql.SQL("({})::{}").format(replaced, sql.SQL(data_type))
            cursor.execute(sql.SQL("UPDATE {} SET {} = {} WHERE {} ~* %(pattern)s").format(
                sql.Identifier(table), sql.Identifier(column), replaced, text),
                {"pattern": pattern, "pseudonym": pseudonym})
            if cursor.rowcount:
                result.rows[table] = result.rows.get(table, 0) + cursor.rowcount
    return result


def _is_a_key(cursor, columns: list[tuple], name: str) -> bool:
    """Whether `name` is a key of a JSON object somewhere in the storage (replacing it would change a structure)."""
    key = f'"{name}"\\s*:'
    for table, column, _ in columns:
        cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {}::text ~* %s)").format(
            sql.Identifier(table), sql.Identifier(column)), (key,))
        if cursor.fetchone()[0]:
            return True
    return False
