"""Run Dagster in the background on 127.0.0.1, stoppable by PID.

`DAGSTER_MODE=dev` runs `dagster dev` (UI and daemon in one process group, code reloaded on demand);
`DAGSTER_MODE=service` runs `dagster-webserver` and `dagster-daemon` as two processes, the way a
long-running install does. Both use the project's `dagster.yaml` (copied into `DAGSTER_HOME`) and
`workspace.yaml`.
"""

from __future__ import annotations

import os
import shutil
import sys
import urllib.request
from pathlib import Path

from domotic_config.private import own_folder
from domotic_config.settings import Settings
from domotic_config.variables import ROOT
from domotic_ops import procs

MODES = ("dev", "service")
# Only the set-up needs the superuser's password (runs use DB_URL); Superset's secrets are Superset's.
NOT_FOR_DAGSTER = ("DOMOTIC_PG_SUPERUSER_PASSWORD", "SUPERSET_ADMIN_PASSWORD", "SUPERSET_METADATA_PASSWORD",
                   "SUPERSET_METADATA_URL", "SUPERSET_SECRET_KEY", "SUPERSET_LOGIN_KEY")


class DagsterService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.mode = settings["DAGSTER_MODE"]
        if self.mode not in MODES:
            raise procs.ServiceError(f"DAGSTER_MODE is {self.mode!r}: use one of {', '.join(MODES)}")
        self.home = Path(settings["DAGSTER_HOME"])
        self.port = int(settings["DAGSTER_PORT"])
        self.pids = settings.runtime / "pids"
        self.logs = settings.runtime / "logs"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def commands(self) -> dict[str, list[str]]:
        """The processes of the chosen mode, by name (the name of their PID and log files)."""
        bindir = Path(sys.executable).parent
        workspace = ["-w", str(ROOT / "workspace.yaml")]
        ui = ["-h", "127.0.0.1", "-p", str(self.port)]
        if self.mode == "dev":
            return {"dagster": [str(bindir / "dagster"), "dev", *workspace, *ui]}
        return {"dagster-webserver": [str(bindir / "dagster-webserver"), *workspace, *ui],
                "dagster-daemon": [str(bindir / "dagster-daemon"), "run", *workspace]}

    def _pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"

    def running(self) -> dict[str, int]:
        """Every Dagster process this project started that still runs (either mode)."""
        names = ("dagster", "dagster-webserver", "dagster-daemon")
        pids = {name: procs.read_pid(self._pid_file(name)) for name in names}
        return {name: pid for name, pid in pids.items() if pid is not None and procs.is_alive(pid)}

    def is_running(self) -> bool:
        return bool(self.running())

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def environment(self) -> dict[str, str]:
        """The processes' environment: the platform's settings, without what only the set-up needs."""
        return {k: v for k, v in {**os.environ, **self.settings.env}.items() if k not in NOT_FOR_DAGSTER}

    def start(self, timeout: float = 240) -> None:
        """Start the processes of the mode with the platform's environment; wait until the UI answers."""
        own_folder(self.home)  # it holds the runs' captured output
        shutil.copyfile(ROOT / "dagster.yaml", self.home / "dagster.yaml")
        env = self.environment()
        for name, command in self.commands().items():
            if not procs.is_alive(procs.read_pid(self._pid_file(name))):
                procs.spawn(command, self._pid_file(name), self.logs / f"{name}.log", env=env, cwd=ROOT)
        if not procs.wait_until(lambda: self.answers() or not self.is_running(), timeout, 1.0) or not self.answers():
            raise procs.ServiceError(f"the Dagster UI did not answer on {self.url}; see {self.logs}/dagster*.log")

    def stop(self) -> bool:
        stopped = [procs.stop_pid_file(self._pid_file(name), timeout=30) for name in self.running()]
        return any(stopped)

    def status(self) -> str:
        found = self.running()
        if found:
            pids = ", ".join(f"{name} pid {pid}" for name, pid in found.items())
            return f"running ({pids}, {self.url})"
        return "stopped"
