"""The demo reference database (MariaDB) answers through the platform's read-only account."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from demo.generator.reference import BUILDING_PII_COLUMNS, IMPORTED_TABLES, PERSONAL_TABLES
from resources.reference_db import ReferenceDatabaseResource

pytestmark = pytest.mark.integration


def test_reference_tables_answer(settings, mariadb):
    reference = ReferenceDatabaseResource(url=settings["MYSQL_URL"])
    assert set(IMPORTED_TABLES) | set(PERSONAL_TABLES) <= set(reference.table_names())
    engine = reference.engine()
    with engine.connect() as connection:
        houses = connection.execute(sa.text("SELECT houseName FROM buildings ORDER BY idBuilding")).scalars().all()
        columns = {c["name"] for c in sa.inspect(connection).get_columns("buildings")}
        rooms = connection.execute(sa.text("SELECT COUNT(*) FROM rooms")).scalar()
    engine.dispose()
    assert houses[:2] == ["JimmyLoup", "JeremieVianin"] and len(houses) == 3
    assert set(BUILDING_PII_COLUMNS) <= columns
    assert rooms > 0


def test_platform_account_cannot_write(settings, mariadb):
    engine = sa.create_engine(settings["MYSQL_URL"])
    with engine.connect() as connection, pytest.raises(sa.exc.OperationalError, match="denied"):
        connection.execute(sa.text("DELETE FROM buildings"))
    engine.dispose()
