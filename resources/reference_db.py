"""The building's reference database (MySQL/MariaDB) through SQLAlchemy + PyMySQL."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa
from pydantic import Field


class ReferenceDatabaseResource(dg.ConfigurableResource):
    """Read access to the reference tables (buildings, rooms, sensors, …)."""

    url: str = Field(description="SQLAlchemy URL, mysql+pymysql://user:password@host:port/database")

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, pool_pre_ping=True)

    def table_names(self) -> list[str]:
        engine = self.engine()
        try:
            return sa.inspect(engine).get_table_names()
        finally:
            engine.dispose()
