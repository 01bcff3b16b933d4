"""The warehouse's access set-up (`domotic_ops/access.sql`): BI roles, the apartment mapping and row-level
security. Applied by the admin role; printed for an administrator when the platform has no admin rights."""

from pathlib import Path

ACCESS_SQL = Path(__file__).resolve().parent / "access.sql"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def access_sql(app_role: str) -> str:
    """The set-up SQL for the application role `app_role` (quoted), ready to run or to print."""
    return (ACCESS_SQL.read_text(encoding="utf-8")
            .replace(":app_role_name", quote_literal(app_role)).replace(":app_role", quote_identifier(app_role)))


def apply_access(admin_connection, app_role: str) -> None:
    """Run the set-up SQL in one transaction on a connection of the admin role to the warehouse database."""
    with admin_connection, admin_connection.cursor() as cursor:
        cursor.execute(access_sql(app_role))
