"""Run `dagster dev` (UI + daemon) in the background on 127.0.0.1, stoppable by PID."""

from __future__ import annotations

import os
import shutil
import sys
import urllib.request
from pathlib import Path

from demo import procs
from demo.settings import ROOT, Settings


class DagsterDev:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.home = Path(settings["DAGSTER_HOME"])
        self.port = int(settings["DAGSTER_PORT"])
        self.pid_file = settings.runtime / "pids" / "dagster.pid"
        self.log_file = settings.runtime / "logs" / "dagster.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def is_running(self) -> bool:
        return procs.is_alive(procs.read_pid(self.pid_file))

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def start(self, timeout: float = 240) -> None:
        """Start the UI and the daemon with the platform's environment; wait until the UI answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "dagster.yaml", self.home / "dagster.yaml")
        if not self.is_running():
            dagster = Path(sys.executable).parent / "dagster"
            procs.spawn([str(dagster), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
                         "-p", str(self.port)], self.pid_file, self.log_file, env={**os.environ, **self.settings.env}, cwd=ROOT)
        if not procs.wait_until(lambda: self.answers() or not self.is_running(), timeout, 1.0) or not self.answers():
            raise RuntimeError(f"the Dagster UI did not answer on {self.url}; see {self.log_file}")

    def stop(self) -> bool:
        return procs.stop_pid_file(self.pid_file, timeout=30)

    def status(self) -> str:
        if self.is_running():
            return f"running (pid {procs.read_pid(self.pid_file)}, {self.url})"
        return "stopped"
