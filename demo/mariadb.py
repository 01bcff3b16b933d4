"""Embedded MariaDB holding the reference tables (stand-in for the building's MySQL database).

The server listens on 127.0.0.1:<DEMO_MYSQL_PORT>; the administrator connects over the private socket
(unix_socket authentication); the platform reads with `domotic_ref`, which may only SELECT.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import pymysql

from demo.generator.reference import ReferenceTable
from demo.settings import MYSQL_DB, MYSQL_USER
from domotic_config.private import own_folder
from domotic_config.settings import Settings
from domotic_ops import procs


class EmbeddedMariaDB:
    """A MariaDB server owned by the project, started and stopped by PID."""

    def __init__(self, settings: Settings):
        self.settings = settings
        base = Path(settings["DEMO_MYSQL_DIR"]).expanduser()
        self.base = base
        self.data_dir = base / "data"
        self.socket = base / "mysqld.sock"
        self.pid_file = settings.runtime / "pids" / "mariadb.pid"
        self.log_file = settings.runtime / "logs" / "mariadb.log"
        self.port = int(settings["DEMO_MYSQL_PORT"])
        self.account = procs.service_user("mysql")
        self.admin = "root" if os.geteuid() == 0 else getpass.getuser()

    def is_running(self) -> bool:
        return procs.is_alive(procs.read_pid(self.pid_file))

    def preflight(self) -> None:
        """Stop before anything is created when the `mysql` account cannot reach the server's folder."""
        procs.require_reachable(self.base.parent, self.account, "The demo MariaDB",
                                "set DEMO_MYSQL_DIR in .env to a folder it can reach (for example /var/lib/domotic/mariadb), "
                                "clone the project elsewhere, or set MYSQL_URL to a server of your own")

    def initialise(self) -> None:
        self.preflight()
        if (self.data_dir / "mysql").exists():
            return
        own_folder(self.base)
        own_folder(self.data_dir)
        procs.chown_to(self.base, self.account)
        procs.chown_to(self.data_dir, self.account)
        user = [f"--user={self.account}"] if self.account else []
        install = procs.find_binary("mariadb-install-db", "mariadb-server")
        procs.run([install, "--no-defaults", f"--datadir={self.data_dir}", "--auth-root-authentication-method=socket",
                   "--skip-test-db", *user])

    def start(self) -> None:
        """Start the server (no-op when it already runs) and wait until it answers."""
        self.initialise()
        if not self.is_running():
            user = [f"--user={self.account}"] if self.account else []
            server = procs.find_binary("mariadbd", "mariadb-server")
            procs.spawn([server, "--no-defaults", f"--datadir={self.data_dir}",
                         f"--socket={self.socket}", f"--port={self.port}", "--bind-address=127.0.0.1",
                         "--skip-name-resolve", "--character-set-server=utf8mb4", *user],
                        self.pid_file, self.log_file)
        if not procs.wait_until(self._answers, 60, 0.5):
            raise procs.ServiceError(f"MariaDB did not start; see {self.log_file}")

    def _answers(self) -> bool:
        try:
            self.admin_connection().close()
            return True
        except pymysql.err.OperationalError:
            return False

    def stop(self) -> bool:
        return procs.stop_pid_file(self.pid_file, timeout=30, group=False)

    def status(self) -> str:
        if self.is_running():
            return f"running (pid {procs.read_pid(self.pid_file)}, 127.0.0.1:{self.port})"
        return "stopped"

    def admin_connection(self, database: str | None = None):
        return pymysql.connect(unix_socket=str(self.socket), user=self.admin, database=database,
                               charset="utf8mb4", autocommit=True)

    def load_reference(self, tables: list[ReferenceTable]) -> None:
        """(Re)create the reference database with its tables and the read-only application account."""
        connection = self.admin_connection()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{MYSQL_DB}` CHARACTER SET utf8mb4")
            cursor.execute(f"CREATE USER IF NOT EXISTS '{MYSQL_USER}'@'127.0.0.1' IDENTIFIED BY %s",
                           (self.settings["DEMO_MYSQL_PASSWORD"],))
            cursor.execute(f"ALTER USER '{MYSQL_USER}'@'127.0.0.1' IDENTIFIED BY %s",
                           (self.settings["DEMO_MYSQL_PASSWORD"],))
            cursor.execute(f"GRANT SELECT ON `{MYSQL_DB}`.* TO '{MYSQL_USER}'@'127.0.0.1'")
            cursor.execute(f"USE `{MYSQL_DB}`")
            for table in tables:
                cursor.execute(f"DROP TABLE IF EXISTS `{table.name}`")
                cursor.execute(table.create_statement())
                if table.rows:
                    cursor.executemany(table.insert_statement(), table.rows)
        connection.close()
