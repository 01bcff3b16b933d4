"""`python -m domotic_ops check`: the effective configuration, then one verdict per configured service.

In the spirit of `dbt debug`: secrets are masked; each service is tried for real (connect, list, verify the
host key) with the same resource classes the assets use, and a failure says what to change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from domotic_config.settings import Settings
from domotic_config.variables import VARIABLES
from domotic_ops.superset import superset_service
from resources.configured import platform_resources

WAREHOUSE_SCHEMAS = ("silver", "gold")


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool
    detail: str


def _missing(settings: Settings, *names: str) -> list[str]:
    return [name for name in names if not settings.get(name)]


def _ready(resources: dict, name: str):
    """The resource with its environment variables resolved."""
    return resources[name].process_config_and_initialize()


def check_warehouse(resources: dict, settings: Settings) -> str:
    with _ready(resources, "warehouse").connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (list(WAREHOUSE_SCHEMAS),))
        present = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT current_user, current_database(), has_database_privilege(current_database(), 'CREATE'), "
                       "rolsuper OR rolbypassrls, to_regclass('governance.apartment_access') IS NOT NULL "
                       "FROM pg_roles WHERE rolname = current_user")
        user, database, may_create, bypasses_security, has_access_setup = cursor.fetchone()
        missing = [s for s in WAREHOUSE_SCHEMAS if s not in present]
        statements = "; ".join(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
            sql.Identifier(s), sql.Identifier(user)).as_string(cursor) for s in missing)
    if missing and not may_create:
        raise RuntimeError(f"schemas {', '.join(missing)} are missing in {database} and {user} may not create "
                           f"them: as an administrator run {statements}")
    if bypasses_security:
        raise RuntimeError(f"{user} is a superuser or bypasses row-level security: the pipeline runs as an "
                           "application role without either (domotic_ops/access.sql sets one up)")
    if not has_access_setup:
        raise RuntimeError(f"the access set-up is missing in {database}: as an administrator run the SQL printed by "
                           "`.venv/bin/python -m domotic_ops access-sql`")
    created = f" (schemas {', '.join(missing)} will be created on the first run)" if missing else ""
    return f"{database} as {user}{created}"


def check_dagster_storage(resources: dict, settings: Settings) -> str:
    connection = psycopg2.connect(host=settings["DAGSTER_PG_HOST"], port=settings["DAGSTER_PG_PORT"],
                                  user=settings["DAGSTER_PG_USERNAME"], password=settings["DAGSTER_PG_PASSWORD"],
                                  dbname=settings["DAGSTER_PG_DB"], connect_timeout=10)
    connection.close()
    return f"database {settings['DAGSTER_PG_DB']} on {settings['DAGSTER_PG_HOST']}:{settings['DAGSTER_PG_PORT']}"


def check_share(resources: dict, settings: Settings) -> str:
    files = _ready(resources, "share").list_files()
    bronze = _ready(resources, "bronze").path
    writable = _nearest_existing(bronze)
    if not os.access(writable, os.W_OK | os.X_OK):
        raise RuntimeError(f"BRONZE_ROOT {bronze} cannot be created or written (see {writable}): fix its "
                           "permissions or point BRONZE_ROOT elsewhere")
    return f"{len(files)} files in {settings['SMB_PATH']}; BRONZE_ROOT {bronze} writable"


def _nearest_existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def check_sftp(resources: dict, settings: Settings) -> str:
    sftp = _ready(resources, "sftp")
    with sftp.session() as session:
        files = sftp.list_files(session)
    how = "pinned fingerprint" if sftp.host_fingerprint else sftp.host_key_policy
    return f"{len(files)} files in {sftp.path} on {sftp.host}:{sftp.port}, host key checked ({how})"


def check_reference_db(resources: dict, settings: Settings) -> str:
    return f"{len(_ready(resources, 'reference_db').table_names())} tables"


def check_dashboards(resources: dict, settings: Settings) -> str:
    if settings["SUPERSET_ENABLED"] != "yes":
        return "not run here (SUPERSET_ENABLED=no)"
    return superset_service(settings).report()


CHECKS: tuple[tuple[str, tuple[str, ...], Callable[[dict, Settings], str], str], ...] = (
    ("warehouse", ("DB_URL",), check_warehouse, "check DB_URL (host, port, user, password, database)"),
    ("dagster storage", ("DAGSTER_PG_HOST", "DAGSTER_PG_USERNAME"), check_dagster_storage,
     "check the DAGSTER_PG_* variables (derived from DB_URL unless set) and that the database exists"),
    ("SMB share", ("SMB_PATH", "BRONZE_ROOT"), check_share,
     "check SMB_PATH (mounted folder or smb://host[:port]/share/folder) and SMB_USER/SMB_PASSWORD"),
    ("sFTP server", ("SFTP_HOST", "SFTP_USER", "SFTP_PASSWORD"), check_sftp,
     "check SFTP_HOST, SFTP_PORT, SFTP_PATH and the host-key settings"),
    ("reference DB", ("MYSQL_URL",), check_reference_db, "check MYSQL_URL (host, port, user, password, database)"),
    ("dashboards", ("SUPERSET_PORT",), check_dashboards,
     "run `make bootstrap`, check SUPERSET_METADATA_URL, or set SUPERSET_ENABLED=no"),
)


EMBEDDED_ADVICE = ("DB_URL is not set, so this is the embedded PostgreSQL: start it (make up, or python -m "
                   "domotic_ops pg start) or set DB_URL to a server of your own")


def run_service_checks(settings: Settings) -> list[Verdict]:
    """Try every service; a service whose required variables are missing fails with their names."""
    previous = dict(os.environ)
    os.environ.update(settings.env)  # the resources resolve their `dg.EnvVar`s from the environment
    try:
        resources = platform_resources()
        verdicts = []
        for name, needs, check, advice in CHECKS:
            missing = _missing(settings, *needs)
            if missing:
                them = "it" if len(missing) == 1 else "them"
                verdicts.append(Verdict(name, False, f"{', '.join(missing)} not set: set {them} in .env or the "
                                                     "environment"))
                continue
            try:
                verdicts.append(Verdict(name, True, check(resources, settings)))
            except Exception as error:  # every failure becomes a verdict; the next service is still tried
                if needs[0] in ("DB_URL", "DAGSTER_PG_HOST") and settings.embedded_postgres:
                    advice = EMBEDDED_ADVICE
                verdicts.append(Verdict(name, False, f"{_one_line(error)} — {advice}"))
        return verdicts
    finally:
        os.environ.clear()
        os.environ.update(previous)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) < 400 else text[:400] + "…"


def run_checks(settings: Settings, out: Callable[[str], None] = print) -> bool:
    """Print the configuration (secrets masked) and one verdict per service; True when all pass."""
    out("configuration (secrets masked):")
    shown = settings.masked()
    for variable in VARIABLES:
        out(f"  {variable.name:30} {shown[variable.name] or '(not set)'}")
    out("")
    verdicts = run_service_checks(settings)
    for verdict in verdicts:
        out(f"{'ok  ' if verdict.passed else 'FAIL'} {verdict.name:16} {verdict.detail}")
    passed = all(v.passed for v in verdicts)
    out("\nall checks passed" if passed else f"\n{sum(not v.passed for v in verdicts)} check(s) failed")
    return passed
