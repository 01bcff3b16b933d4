"""The warehouse: PostgreSQL reached through `DB_URL`, and COPY of Polars frames into it."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dagster as dg
import polars as pl
import psycopg2
from psycopg2 import sql
from pydantic import Field
from sqlalchemy.engine import make_url

# The platform's sessions run without PostgreSQL's JIT. Its plans are over-estimated — the gold facts' minute
# spreads (generate_series), the silver checks' subplans over every day partition, planned even when not run —
# and compiling them cost more than running them: 1.7 s of a 2.1 s gold day of fact_energy_minute; 3.1 s of a
# 3.2 s ledger check whose answer takes 2 ms, after every live silver tick.
SESSION_OPTIONS = "-c jit=off"


class PostgresResource(dg.ConfigurableResource):
    """Connections to the warehouse database (`DB_URL`), without JIT (SESSION_OPTIONS)."""

    db_url: str = Field(description="SQLAlchemy URL of the warehouse, postgresql+psycopg2://user:password@host:port/db")

    def connection_kwargs(self) -> dict:
        url = make_url(self.db_url)
        return {"host": url.host, "port": url.port or 5432, "user": url.username, "password": url.password,
                "dbname": url.database, **url.query}

    def dbt_environment(self) -> dict[str, str]:
        """The variables dbt_project/profiles.yml reads, from DB_URL (dbt takes no URL), and the sessions'
        options (SESSION_OPTIONS)."""
        kwargs = self.connection_kwargs()
        return {"DOMOTIC_DBT_HOST": kwargs["host"] or "127.0.0.1", "DOMOTIC_DBT_PORT": str(kwargs["port"]),
                "DOMOTIC_DBT_USER": kwargs["user"] or "", "DOMOTIC_DBT_PASSWORD": kwargs["password"] or "",
                "DOMOTIC_DBT_DBNAME": kwargs["dbname"] or "", "PGOPTIONS": SESSION_OPTIONS}

    @contextmanager
    def connect(self) -> Iterator[psycopg2.extensions.connection]:
        """A psycopg2 connection; the transaction commits when the block ends without error."""
        connection = psycopg2.connect(**{"options": SESSION_OPTIONS, **self.connection_kwargs()})
        try:
            with connection:
                yield connection
        finally:
            connection.close()



def copy_frame(cursor, frame: pl.DataFrame, table: str, columns: Sequence[str] | None = None) -> int:
    """COPY a frame into `schema.table` (CSV through memory, identifiers quoted); returns the rows sent."""
    columns = list(columns or frame.columns)
    schema, _, name = table.rpartition(".")
    target = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '')").format(
        target, sql.SQL(", ").join(map(sql.Identifier, columns)))
    buffer = io.BytesIO(frame.select(columns).write_csv(include_header=False, null_value="").encode("utf-8"))
    cursor.copy_expert(statement.as_string(cursor), buffer)
    return frame.height
