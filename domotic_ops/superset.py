"""Apache Superset, the dashboards (docs/dashboards.md): run in its own environment (`.venv-superset`,
installed by scripts/bootstrap.sh from bi/requirements.lock) on 127.0.0.1:<SUPERSET_PORT>, stoppable by PID.

Its metadata lives in its own database (SUPERSET_METADATA_URL, else `superset` on the embedded cluster). Each
Superset user queries the warehouse as the PostgreSQL login of the same name (bi/logins.py), so the apartment
mapping of governance.apartment_access decides what a person sees in Superset as in any BI tool.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import urllib.request

import psycopg2
import psycopg2.errors
from psycopg2 import sql
from sqlalchemy.engine import make_url

from bi.logins import check_username, warehouse_password
from domotic_config.private import own_folder
from domotic_config.settings import Settings
from domotic_config.variables import ROOT
from domotic_ops import procs
from resources.postgres import PostgresResource

BI = ROOT / "bi"
SUPERSET_VENV = ROOT / ".venv-superset"  # scripts/bootstrap.sh installs it
METADATA_DB, METADATA_ROLE = "superset", "domotic_superset"
KINDS = {"manager": "domotic_bi_all", "resident": "domotic_bi"}  # Superset kind of user -> warehouse group role


class SupersetService:
    def __init__(self, settings: Settings, postgres=None):
        """`postgres`: the embedded cluster (admin rights for the metadata database and the warehouse logins),
        None on servers of one's own."""
        self.settings = settings
        self.postgres = postgres
        self.port = int(settings["SUPERSET_PORT"])
        self.folder = settings.runtime / "superset"
        self.venv = SUPERSET_VENV
        self.pid_file = settings.runtime / "pids" / "superset.pid"
        self.log_file = settings.runtime / "logs" / "superset.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metadata_url(self) -> str:
        if self.settings.get("SUPERSET_METADATA_URL"):
            return self.settings["SUPERSET_METADATA_URL"]
        if self.postgres is None:
            raise procs.ServiceError("SUPERSET_METADATA_URL is not set (Superset's own database on your server)")
        return make_url(f"postgresql+psycopg2://{METADATA_ROLE}@127.0.0.1:{self.postgres.port}/{METADATA_DB}").set(
            password=self.settings["SUPERSET_METADATA_PASSWORD"]).render_as_string(hide_password=False)

    def environment(self) -> dict[str, str]:
        """Superset's processes: its configuration, its secrets and the warehouse's address; no platform secret."""
        warehouse = make_url(self.settings["DB_URL"])
        home = self.folder / "home"
        return {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(home),
                "SUPERSET_HOME": str(home), "SUPERSET_CONFIG_PATH": str(BI / "superset_config.py"),
                "FLASK_APP": "superset.app:create_app()", "PYTHONDONTWRITEBYTECODE": "1",
                "SUPERSET_SECRET_KEY": self.settings["SUPERSET_SECRET_KEY"],
                "SUPERSET_METADATA_URL": self.metadata_url(),
                "SUPERSET_LOGIN_KEY": self.settings["SUPERSET_LOGIN_KEY"],
                "SUPERSET_ADMIN_USER": self.settings["SUPERSET_ADMIN_USER"],
                "SUPERSET_WAREHOUSE_HOST": warehouse.host or "127.0.0.1",
                "SUPERSET_WAREHOUSE_PORT": str(warehouse.port or 5432),
                "SUPERSET_WAREHOUSE_DB": warehouse.database or ""}

    def preflight(self) -> None:
        if not (self.venv / "bin" / "superset").exists():
            raise procs.ServiceError(f"Superset is not installed in {self.venv}: run `make bootstrap` "
                                     "(or set SUPERSET_ENABLED=no)")

    def _superset(self, *args: str, stdin: str | None = None) -> str:
        """A Superset command (`superset …`, or bi/provision.py with `provision`) in its environment."""
        command = ([str(self.venv / "bin" / "python"), str(BI / "provision.py"), *args[1:]] if args[0] == "provision"
                   else [str(self.venv / "bin" / "superset"), *args])
        own_folder(self.folder / "home")
        result = subprocess.run(command, env=self.environment(), cwd=self.folder, input=stdin, capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise procs.ServiceError(f"superset {' '.join(args)} failed ({result.returncode}):\n"
                                     f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
        return result.stdout

    def _ensure_metadata_database(self) -> None:
        if self.settings.get("SUPERSET_METADATA_URL") or self.postgres is None:
            return
        admin = self.postgres.connect()
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (METADATA_ROLE,))
            verb = "ALTER" if cursor.fetchone() else "CREATE"
            cursor.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(METADATA_ROLE)),
                           (self.settings["SUPERSET_METADATA_PASSWORD"],))
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (METADATA_DB,))
            if not cursor.fetchone():
                cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(METADATA_DB), sql.Identifier(METADATA_ROLE)))
        admin.close()

    def prepare(self) -> None:
        """The metadata database, then `superset db upgrade` and `superset init` once per installed Superset and
        metadata database."""
        self._ensure_metadata_database()
        stamp = self.folder / "initialised"
        wanted = hashlib.sha256((BI / "requirements.lock").read_bytes() + self.metadata_url().encode()).hexdigest()
        if stamp.exists() and stamp.read_text() == wanted and self._metadata_has_schema():
            return
        self._superset("db", "upgrade")
        self._superset("init")
        stamp.write_text(wanted)

    def _metadata_has_schema(self) -> bool:
        """Superset's tables are in its metadata database (not a new one under the same URL)."""
        with PostgresResource(db_url=self.metadata_url()).connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
            return bool((cursor.fetchone() or (False,))[0])

    def provision(self) -> None:
        """The metadata database, the manager's account (and login on the embedded cluster; on a server of one's
        own, `bi-user add` prints its SQL once), the dashboards (all idempotent)."""
        self.save_user(self.settings["SUPERSET_ADMIN_USER"], "manager", self.settings["SUPERSET_ADMIN_PASSWORD"],
                       login=self.postgres is not None)
        self._superset("provision", "dashboards")

    def save_user(self, name: str, kind: str, password: str, apartment: str | None = None, login: bool = True) -> None:
        """A Superset account and its warehouse login (a manager sees every apartment, a resident `apartment`)."""
        self.prepare()
        statements = login_sql(check_username(name), kind, warehouse_password(self.settings["SUPERSET_LOGIN_KEY"], name),
                               apartment)
        if login:
            self._for_admin(f"the login of {name}", statements, apartment)
        self._superset("provision", "user", name, kind, stdin=password + "\n")

    def remove_user(self, name: str) -> None:
        self.prepare()
        self._for_admin(f"the removal of the login of {name}", remove_sql(name))
        self._superset("provision", "remove", name)

    def _for_admin(self, what: str, statements: list[sql.Composable], apartment: str | None = None) -> None:
        """Run the statements as the embedded cluster's admin; on a server of one's own, where the platform has no
        admin rights, print them for its administrator."""
        if self.postgres is None:
            with PostgresResource(db_url=self.settings["DB_URL"]).connect() as connection:  # to quote the SQL
                text = ";\n".join(statement.as_string(connection) for statement in statements)
            print(f"-- for the warehouse's administrator: {what}\n{text};")
            return
        if apartment:
            known_apartment(self.warehouse_admin(), apartment)
        run_as_admin(self.warehouse_admin(), statements)

    def warehouse_admin(self):
        """A connection of the admin role to the warehouse (the embedded cluster's superuser)."""
        return self.postgres.connect(make_url(self.settings["DB_URL"]).database)

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def is_running(self) -> bool:
        return procs.is_alive(procs.read_pid(self.pid_file))

    def start(self, timeout: float = 180) -> None:
        """Provision, then serve with gunicorn (one worker, threads) and wait until it answers."""
        self.preflight()
        self.provision()
        if not self.is_running():
            command = [str(self.venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                       "--threads", "8", "--timeout", "120", "superset.app:create_app()"]
            procs.spawn(command, self.pid_file, self.log_file, env=self.environment(), cwd=self.folder)
        if not procs.wait_until(lambda: self.answers() or not self.is_running(), timeout, 1.0) or not self.answers():
            raise procs.ServiceError(f"Superset did not answer on {self.url}; see {self.log_file}")

    def stop(self) -> bool:
        return procs.stop_pid_file(self.pid_file, timeout=30)

    def status(self) -> str:
        if self.is_running():
            return f"running (pid {procs.read_pid(self.pid_file)}, {self.url})"
        return "stopped"

    def report(self) -> str:
        """What `check` and `health` say: installed, its metadata database reachable, answering or not, and the
        memory of its server processes; raises ServiceError naming what is wrong."""
        self.preflight()
        metadata = make_url(self.metadata_url())
        if self.postgres is not None and not self.settings.get("SUPERSET_METADATA_URL"):
            admin = self.postgres.connect()
            with admin, admin.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (METADATA_DB,))
                created = cursor.fetchone() is not None
            admin.close()
            if not created:
                return f"installed; its metadata database {METADATA_DB} is created at its first start (`make up`)"
        try:
            psycopg2.connect(host=metadata.host, port=metadata.port, user=metadata.username,
                             password=metadata.password, dbname=metadata.database, connect_timeout=10).close()
        except psycopg2.OperationalError as error:
            raise procs.ServiceError(f"its metadata database {metadata.database} on {metadata.host}:{metadata.port} "
                                     f"is not reachable: {str(error).strip().splitlines()[0]}") from None
        if not self.answers():
            return f"installed, metadata database {metadata.database} reachable; not answering on {self.url} (stopped)"
        memory = procs.group_memory_mb(procs.read_pid(self.pid_file))
        return f"answering on {self.url} ({memory:.0f} MB resident), metadata database {metadata.database}"


def superset_service(settings: Settings) -> SupersetService:
    """The service of this configuration: with the embedded cluster's admin rights unless DB_URL is set."""
    from domotic_ops.postgres import EmbeddedPostgres  # the embedded cluster imports nothing of Superset's

    return SupersetService(settings, EmbeddedPostgres(settings) if settings.embedded_postgres else None)


def not_a_bi_login_guard(name: str) -> sql.Composable:
    """A statement that fails when `name` is a role other than a BI login: a superuser, a role that bypasses
    row-level security, a group, or any role that is not directly in `domotic_bi` or `domotic_bi_all` (the
    application role, the admin). It runs first in the SQL that creates, updates or drops a login."""
    groups = sql.SQL(", ").join(sql.Literal(group) for group in KINDS.values())
    return sql.SQL("""DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles AS r WHERE r.rolname = {name} AND (r.rolsuper
    OR r.rolbypassrls OR NOT r.rolcanlogin OR NOT EXISTS (SELECT FROM pg_auth_members AS m JOIN pg_roles AS g
    ON g.oid = m.roleid WHERE m.member = r.oid AND g.rolname IN ({groups})))) THEN
    RAISE EXCEPTION 'role % exists and is not a BI login: choose another name', {name}; END IF; END $$""").format(
        name=sql.Literal(name), groups=groups)


def login_sql(name: str, kind: str, password: str, apartment: str | None) -> list[sql.Composable]:
    """The statements that make `name` a warehouse login of its kind: the role with its password, in its group
    role, and its rows of the apartment mapping (none for a manager: the group sees every apartment)."""
    if kind not in KINDS or (kind == "resident") != bool(apartment):
        raise ValueError("a resident has one apartment, a manager none")
    role = sql.Identifier(check_username(name))
    statements: list[sql.Composable] = [
        not_a_bi_login_guard(name),
        sql.SQL("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN CREATE ROLE {} LOGIN; "
                "END IF; END $$").format(sql.Literal(name), role),
        sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD {}").format(role, sql.Literal(password)),
        *[sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), role) for group in KINDS.values()],
        sql.SQL("GRANT {} TO {}").format(sql.Identifier(KINDS[kind]), role),
        sql.SQL("DELETE FROM governance.apartment_access WHERE grantee = {}").format(sql.Literal(name))]
    if apartment:
        statements.append(sql.SQL("INSERT INTO governance.apartment_access VALUES ({}, governance.apartment_key({}))")
                          .format(sql.Literal(name), sql.Literal(apartment)))
    return statements


def remove_sql(name: str) -> list[sql.Composable]:
    """The statements that remove the login `name` and its rows of the apartment mapping (none if absent)."""
    return [not_a_bi_login_guard(check_username(name)),
            sql.SQL("DELETE FROM governance.apartment_access WHERE grantee = {}").format(sql.Literal(name)),
            sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name))]


def run_as_admin(admin, statements: list[sql.Composable]) -> None:
    """The statements in one transaction of the admin role; a guard's refusal as a ValueError."""
    try:
        with admin, admin.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    except psycopg2.errors.RaiseException as error:
        raise ValueError(error.diag.message_primary) from None
    finally:
        admin.close()


def known_apartment(admin, apartment: str) -> None:
    """ValueError unless a sensor file of the apartment was loaded: a resident's login is for an apartment with
    data to see (an erasure or an export, `domotic_assets.governance.gdpr.known_apartment`, also takes one whose
    files were all rejected, so as to erase them)."""
    with admin.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM silver.file_ledger WHERE source = 'sensor' AND apartment = %s)",
                       (apartment,))
        known = bool((cursor.fetchone() or (False,))[0])
    admin.rollback()
    if not known:
        raise ValueError(f"apartment {apartment!r} is unknown: no sensor file of it was loaded")
