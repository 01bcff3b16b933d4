"""Backups of the warehouse and of Dagster's storage with `pg_dump` (custom format), and their restore with
`pg_restore` into a database of the operator's choice. Passwords go through the environment (PGPASSWORD),
never the command line.

The embedded server is dumped by its admin role (the superuser): the access mapping has row-level security,
which the application role may not bypass. On a server of your own the application role dumps what it owns
(`governance`, the admin's schema, left out: your administrator backs it up with the server)."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from domotic_config.private import SERVICE_UMASK, own_folder
from domotic_config.settings import Settings
from domotic_ops.postgres import server_bindir


def _connection(url: str, database: str | None = None) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore options and environment for a SQLAlchemy URL."""
    parsed = make_url(url)
    options = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "",
               "-d", database or parsed.database or ""]
    return options, {**os.environ, "PGPASSWORD": parsed.password or ""}


def dump(url: str, folder: Path, bindir: str = "", extra: list[str] | None = None) -> Path:
    """The database of `url` into `folder/<database>-<UTC time>.dump` (custom format, compressed): the whole
    warehouse, so mode 600 in a folder of mode 700."""
    own_folder(folder)
    database = make_url(url).database
    target = folder / f"{database}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.dump"
    options, env = _connection(url)
    subprocess.run([str(server_bindir(bindir) / "pg_dump"), "--format=custom", *(extra or []), *options,
                    "-f", str(target)], env=env, check=True, capture_output=True, text=True, umask=SERVICE_UMASK)
    return target


def restore(url: str, dump_file: Path, database: str, bindir: str = "") -> None:
    """Restore a dump into an existing, empty `database` on the server of `url` (owners and grants as dumped:
    the roles must exist there)."""
    options, env = _connection(url, database)
    subprocess.run([str(server_bindir(bindir) / "pg_restore"), "--exit-on-error", *options,
                    str(dump_file)], env=env, check=True, capture_output=True, text=True)


def backup_urls(settings: Settings) -> tuple[list[str], list[str]]:
    """(URLs of the warehouse and of Dagster's storage, pg_dump options) for this configuration."""
    if settings.embedded_postgres:
        admin = (f"postgresql+psycopg2://postgres:{settings['DOMOTIC_PG_SUPERUSER_PASSWORD']}@127.0.0.1:"
                 f"{settings['DOMOTIC_PG_PORT']}")
        return [f"{admin}/{make_url(settings['DB_URL']).database}", f"{admin}/{settings['DAGSTER_PG_DB']}"], []
    dagster = make_url(settings["DB_URL"]).set(database=settings["DAGSTER_PG_DB"])
    return [settings["DB_URL"], dagster.render_as_string(hide_password=False)], ["--exclude-schema=governance"]
