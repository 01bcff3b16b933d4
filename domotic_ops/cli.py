"""Operate the platform: `python -m domotic_ops up|down|status|check|health|backup|restore|pg|superset|dagster|
dbt|dbt-docs|access-sql|bi-user`.

`up` starts what this configuration runs itself (the embedded PostgreSQL unless `DB_URL` is set) and then
Dagster; a server of the user's own is never started or stopped. The demo's CLI (`python -m demo`) adds the
stand-ins for the outside world to the same commands.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from domotic_config.settings import Settings, load_settings
from domotic_config.variables import ROOT
from domotic_ops import procs
from domotic_ops.access import access_sql
from domotic_ops.backup import backup_urls, dump
from domotic_ops.backup import restore as restore_dump
from domotic_ops.check import run_checks
from domotic_ops.dagster_service import DagsterService
from domotic_ops.health import report as health_report
from domotic_ops.postgres import EmbeddedPostgres
from domotic_ops.superset import superset_service
from resources.postgres import PostgresResource


def platform_services(settings: Settings) -> dict:
    """The services this configuration runs itself, in start order (Dagster last)."""
    found: dict = {"pg": EmbeddedPostgres(settings)} if settings.embedded_postgres else {}
    if settings["SUPERSET_ENABLED"] == "yes":
        found["superset"] = superset_service(settings)
    return {**found, "dagster": DagsterService(settings)}


def up(services: dict, prepare: Callable[[], None] | None = None) -> None:
    """Start every service, run `prepare` (e.g. load demo data) before Dagster, then start Dagster."""
    started = time.monotonic()
    problems = []
    for service in services.values():
        try:
            getattr(service, "preflight", lambda: None)()
        except procs.ServiceError as error:
            problems.append(str(error))
    if problems:
        raise procs.ServiceError("\n       ".join(problems))
    for name, service in services.items():
        if name != "dagster":
            service.start()
            print(f"{name:8} {service.status()}")
    if prepare:
        prepare()
    dagster = services["dagster"]
    dagster.start()
    print(f"dagster  {dagster.status()}")
    print(f"\nDagster UI: {dagster.url}   (ready in {time.monotonic() - started:.0f} s; stop with `make down`)")
    if "superset" in services:
        print(f"Dashboards: {services['superset'].url}   (user {services['superset'].settings['SUPERSET_ADMIN_USER']}, "
              "password SUPERSET_ADMIN_PASSWORD in .runtime/secrets.env)")


def down(services: dict) -> None:
    for name, service in reversed(services.items()):
        print(f"{name:8} {'stopped' if service.stop() else 'was not running'}")


def status(services: dict) -> None:
    for name, service in services.items():
        print(f"{name:8} {service.status()}")


def control(services: dict, name: str, action: str) -> None:
    if name not in services:
        sys.exit(f"{name} is not run by this platform here (a server of your own is configured)")
    service = services[name]
    if action == "start":
        service.start()
    elif action == "stop":
        service.stop()
    print(f"{name:8} {service.status()}")


def add_common_commands(commands, service_names: tuple[str, ...]) -> None:
    commands.add_parser("up", help="start every service run here, then Dagster")
    commands.add_parser("down", help="stop every process the project started (by PID)")
    commands.add_parser("status", help="show what runs where")
    for name in service_names:
        commands.add_parser(name, help=f"control the {name} service").add_argument(
            "action", choices=("start", "stop", "status"))


def run_common(args, settings: Settings, services: dict, prepare: Callable[[], None] | None = None) -> bool:
    """Run the commands shared by the platform's and the demo's CLI; False if `args` is none of them."""
    if args.command == "up":
        up(services, prepare)
    elif args.command == "down":
        down(services)
    elif args.command == "status":
        status(services)
    elif hasattr(args, "action"):  # a per-service command
        control(services, args.command, args.action)
    else:
        return False
    return True


DBT_PROJECT = ROOT / "dbt_project"
# dbt by hand and the docs site have target folders of their own: their manifests and saved parses never
# replace the manifest the code location loads nor the saved parse gold runs start from (target/).
DBT_CLI_TARGET = DBT_PROJECT / "target" / "cli"
DBT_DOCS_TARGET = DBT_PROJECT / "target" / "docs"


def dbt_command(settings: Settings, args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of dbt on the gold project, connected to the warehouse of DB_URL
    (target folder `target/cli` unless `args` name one)."""
    env = {**os.environ, **PostgresResource(db_url=settings["DB_URL"]).dbt_environment()}
    target = [] if "--target-path" in args else ["--target-path", str(DBT_CLI_TARGET)]
    command = [str(Path(sys.executable).parent / "dbt"), *args, *target, "--project-dir", str(DBT_PROJECT),
               "--profiles-dir", str(DBT_PROJECT)]
    return command, env


def run_dbt(settings: Settings, args: list[str]) -> int:
    """dbt on the gold project, connected to the warehouse of DB_URL (e.g. `dbt build`)."""
    command, env = dbt_command(settings, args)
    return subprocess.run(command, env=env).returncode


def dbt_docs(settings: Settings, port: int) -> int:
    """`dbt docs generate` against the warehouse (the catalog reads the built tables, their types and comments),
    then `dbt docs serve` on 127.0.0.1:<port> in place of this process (Ctrl-C stops it). Returns only when the
    generation failed (dbt's exit status)."""
    target = ["--target-path", str(DBT_DOCS_TARGET)]
    generated = run_dbt(settings, ["docs", "generate", *target])
    if generated:
        return generated
    command, env = dbt_command(settings, ["docs", "serve", "--host", "127.0.0.1", "--port", str(port),
                                          "--no-browser", *target])
    print(f"dbt docs: http://127.0.0.1:{port}  (stop with Ctrl-C)", flush=True)
    os.execve(command[0], command, env)


def bi_user(settings: Settings, args) -> int:
    """`bi-user add|remove`: the Superset account and the warehouse login of one person, in one step."""
    service = platform_services(settings).get("superset")
    if service is None:
        raise procs.ServiceError("Superset is not enabled (SUPERSET_ENABLED=no)")
    try:
        if args.user_action == "remove":
            service.remove_user(args.name)
            return 0
        password = secrets.token_urlsafe(12)
        service.save_user(args.name, "manager" if args.manager else "resident", password, args.apartment)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.name}: password {password}  (shown once; sign in at {service.url})")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m domotic_ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add_common_commands(commands, ("pg", "superset", "dagster"))
    users = commands.add_parser("bi-user", help="add or remove a dashboards user: a Superset account and its "
                                                "warehouse login in the apartment mapping")
    user_actions = users.add_subparsers(dest="user_action", required=True)
    add = user_actions.add_parser("add", help="create or update the user; prints a new password")
    add.add_argument("name", help="user name: a-z, 0-9 and _, starting with a letter")
    seen = add.add_mutually_exclusive_group(required=True)
    seen.add_argument("--apartment", help="a resident: the apartment id (gold.dim_apartment.apartment_id)")
    seen.add_argument("--manager", action="store_true", help="a manager: every apartment, both dashboards")
    user_actions.add_parser("remove", help="remove the Superset account, the login and its mapping rows").add_argument(
        "name")
    commands.add_parser("check", help="show the effective configuration and test every configured service")
    dbt = commands.add_parser("dbt", help="run dbt on the gold project against DB_URL (e.g. dbt build, docs generate)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    docs = commands.add_parser("dbt-docs", help="generate the dbt docs site against DB_URL and serve it on 127.0.0.1")
    docs.add_argument("--port", type=int, help="port of the site (default: DBT_DOCS_PORT)")
    health = commands.add_parser("health", help="freshness per source, row counts, quarantine, bronze, last runs "
                                                "and alerts (exit status 1 when a source is stale)")
    health.add_argument("--now", type=datetime.fromisoformat, help="measure ages from this instant (ISO 8601)")
    backup = commands.add_parser("backup", help="pg_dump the warehouse and Dagster's storage (custom format)")
    backup.add_argument("--to", type=Path, help="folder of the dumps (default: $DOMOTIC_RUNTIME_DIR/backups)")
    restore = commands.add_parser("restore", help="pg_restore a dump into an existing, empty database")
    restore.add_argument("dump", type=Path)
    restore.add_argument("--database", required=True, help="the empty database to restore into")
    commands.add_parser("access-sql", help="print the access set-up SQL (roles, apartment mapping, row-level "
                                           "security) for an administrator of the warehouse of DB_URL")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "check":
            sys.exit(0 if run_checks(settings) else 1)
        if args.command == "dbt":
            sys.exit(run_dbt(settings, args.dbt_args))
        if args.command == "dbt-docs":
            sys.exit(dbt_docs(settings, args.port or int(settings["DBT_DOCS_PORT"])))
        if args.command == "health":
            os.environ.update(settings.env)  # Dagster's instance reads DAGSTER_HOME and its storage variables
            sys.exit(0 if health_report(settings, now=args.now) else 1)
        if args.command == "backup":
            urls, options = backup_urls(settings)
            for url in urls:
                print(dump(url, args.to or settings.runtime / "backups", settings.get("DOMOTIC_PG_BINDIR", ""), options))
            return
        if args.command == "restore":
            restore_dump(backup_urls(settings)[0][0], args.dump, args.database, settings.get("DOMOTIC_PG_BINDIR", ""))
            return
        if args.command == "bi-user":
            sys.exit(bi_user(settings, args))
        if args.command == "access-sql":
            app_role = make_url(settings["DB_URL"]).username
            if app_role is None:
                sys.exit("error: DB_URL names no user (the application role to set up)")
            print(access_sql(app_role))
            return
        run_common(args, settings, platform_services(settings))
    except procs.ServiceError as error:
        sys.exit(f"error: {error}")
