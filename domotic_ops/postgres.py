"""Embedded PostgreSQL: a cluster in the runtime folder on 127.0.0.1 with a private socket folder.

It holds the warehouse database (schemas `silver`, `gold`) and Dagster's storage database, both owned by
the `domotic` role; the superuser `postgres` is the admin role (set-up only: the access set-up of
`domotic_ops/access.sql`). Password authentication (scram-sha-256) everywhere, no `trust`.
"""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

import psycopg2
from psycopg2 import sql

from domotic_config.private import PRIVATE_FILE, PRIVATE_FOLDER, own_folder
from domotic_config.settings import Settings
from domotic_config.variables import DAGSTER_DB, PG_ROLE, WAREHOUSE_DB
from domotic_ops import procs
from domotic_ops.access import apply_access


def server_bindir(configured: str = "") -> Path:
    """The PostgreSQL server binaries: `DOMOTIC_PG_BINDIR`, else Debian's newest `/usr/lib/postgresql/*/bin`."""
    candidates = [configured] if configured else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version)
    for candidate in reversed(candidates):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise procs.ServiceError("PostgreSQL server binaries not found: install postgresql (apt-get install postgresql) "
                       "or set DOMOTIC_PG_BINDIR to the folder holding initdb and pg_ctl")


def _version(path: str) -> int:
    part = Path(path).parent.name
    return int(part) if part.isdigit() else 0


class EmbeddedPostgres:
    """A PostgreSQL cluster owned by the project (initdb, pg_ctl start/stop/status)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.base = Path(settings["DOMOTIC_PG_DIR"]).expanduser()
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "socket"
        self.log_file = self.base / "postgres.log"
        self.port = int(settings["DOMOTIC_PG_PORT"])
        self.account = procs.service_user("postgres")
        self.bindir = server_bindir(settings.get("DOMOTIC_PG_BINDIR"))

    def _ctl(self, *args: str, check: bool = True):
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args]
        if check:
            return procs.run(command, self.account)
        return procs.subprocess.run(procs.as_user(command, self.account), capture_output=True, text=True)

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "postmaster.pid"

    def is_running(self) -> bool:
        return procs.is_alive(procs.read_pid(self.pid_file))

    def preflight(self) -> None:
        """Stop before initdb when the `postgres` account cannot reach the cluster's folder."""
        procs.require_reachable(self.base.parent, self.account, "PostgreSQL",
                                "set DOMOTIC_PG_DIR in .env to a folder it can reach (for example /var/lib/domotic/postgres), "
                                "clone the project elsewhere, or set DB_URL to a server of your own")

    def initialise(self) -> None:
        """Create the cluster once (superuser password from the generated secrets)."""
        self.preflight()
        if (self.data_dir / "PG_VERSION").exists():
            return
        for folder in (self.base, self.data_dir, self.socket_dir):
            own_folder(folder)
            procs.chown_to(folder, self.account)
        with tempfile.NamedTemporaryFile("w", dir=self.data_dir.parent, delete=False) as pwfile:
            pwfile.write(self.settings["DOMOTIC_PG_SUPERUSER_PASSWORD"] + "\n")
        procs.chown_to(Path(pwfile.name), self.account)
        try:
            procs.run([str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                       "--auth=scram-sha-256", f"--pwfile={pwfile.name}", "--encoding=UTF8", "--locale=C.UTF-8"],
                      self.account)
        finally:
            os.unlink(pwfile.name)

    def start(self) -> None:
        """Start the server on 127.0.0.1:<DOMOTIC_PG_PORT> (no-op when it already runs)."""
        self.initialise()
        if not self.is_running():
            self._start_server()
        self.ensure_databases()

    def _start_server(self) -> None:
        for folder in (self.base, self.socket_dir):  # a cluster made before they were private
            folder.chmod(PRIVATE_FOLDER)
        log = self.log_file  # its statements may quote data
        log.touch(mode=PRIVATE_FILE)
        log.chmod(PRIVATE_FILE)
        procs.chown_to(log, self.account)
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.socket_dir} "
                   "-c shared_buffers=512MB -c max_wal_size=4GB -c max_connections=100 "
                   # no replicas: a table created and loaded in one transaction then skips the WAL
                   "-c wal_level=minimal -c max_wal_senders=0")
        self._ctl("-l", str(log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> bool:
        """Stop the server by its PID (fast shutdown); True if it was running."""
        if not self.is_running():
            return False
        self._ctl("-m", "fast", "-w", "stop")
        return True

    def status(self) -> str:
        if self.is_running():
            return f"running (pid {procs.read_pid(self.pid_file)}, 127.0.0.1:{self.port}, data {self.data_dir})"
        return "stopped"

    def connect(self, database: str = "postgres"):
        return psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                                password=self.settings["DOMOTIC_PG_SUPERUSER_PASSWORD"])

    def ensure_databases(self) -> None:
        """Create (idempotently) the `domotic` role, the warehouse and Dagster databases and the schemas."""
        connection = self.connect()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PG_ROLE,))
            verb = "ALTER" if cursor.fetchone() else "CREATE"
            cursor.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(PG_ROLE)),
                           (self.settings["DOMOTIC_PG_PASSWORD"],))
            for database in (WAREHOUSE_DB, DAGSTER_DB):
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                if not cursor.fetchone():
                    cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(PG_ROLE)))
        connection.close()
        self.prepare_warehouse(WAREHOUSE_DB)

    def prepare_warehouse(self, database: str) -> None:
        """The access set-up of a warehouse database (its schemas, owned by the `domotic` role, included)."""
        warehouse = self.connect(database)
        apply_access(warehouse, PG_ROLE)
        warehouse.close()
