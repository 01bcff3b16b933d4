"""The dbt project of the gold layer. Its manifest is prepared by the project's own commands
(`scripts/bootstrap.sh`, which `make up`, `make test` and CI run, parses it when the dbt files change), never by
`dagster dev`."""

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast, get_args

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from packaging.version import Version
from pydantic import Field

from domotic_assets.gold.dbt_files import project_files_digest
from domotic_config.dbt_vars import DBT_PROJECT_DIR
from domotic_config.variables import value

if TYPE_CHECKING:
    from domotic_assets.gold.dbt_runner import DbtRun

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the project's environment, whatever PATH says
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
PARSED_FOR = DBT_PROJECT_DIR / "target" / ".parsed-for-database"  # scripts/bootstrap.sh removes it
# What of the connection a parse depends on: the database named in every relation. Host, port and user do not
# reach the manifest, so a warehouse moved to another server or port is not parsed again.
PARSE_VARIABLES = ("DOMOTIC_DBT_DBNAME",)


Runner = Literal["in-process", "cli"]


class InstalledDbtCliResource(DbtCliResource):
    """dbt of the project's environment. Its version is read from the installed dbt-core: dagster-dbt otherwise
    runs `dbt --version` before every command, which asks pypi.org for the latest release (about 3 s per run,
    and a call out of the machine)."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    runner: Runner = Field(
        default="in-process", description="DBT_RUNNER: `in-process` (dbt's runner in the step's process, from the "
        "saved parse) or `cli` (dagster-dbt's public command-line path)")

    def invoke(self, args: Sequence[str], *, context: dg.AssetExecutionContext) -> "DbtRun | DbtCliInvocation":
        """A dbt command with the configured runner; both give dagster-dbt's event messages from
        `stream_raw_events()` and raise `DagsterDbtCliRuntimeError` when dbt fails. The in-process runner is
        used only with the dbt-core and dagster-dbt versions it was checked against (`dbt_runner.py`)."""
        if self.runner == "in-process":
            from domotic_assets.gold import dbt_runner  # dbt's and dagster-dbt's internals: only when used

            if dbt_runner.checked({name: version(name) for name in dbt_runner.CHECKED_WITH}):
                return self.run_in_process(args, context=context)
            context.log.warning(f"the in-process dbt runner was checked with {dbt_runner.CHECKED_WITH}, not "
                                f"dbt-core {version('dbt-core')} / dagster-dbt {version('dagster-dbt')}: "
                                "running dbt's command line (DBT_RUNNER=cli)")
        return self.cli(args, context=context)

    def run_in_process(self, args: Sequence[str], *, context: dg.AssetExecutionContext | None = None,
                       target_path: Path | None = None) -> "DbtRun":
        """A dbt command run in this process from the saved parse (`dbt_runner.py`)."""
        from domotic_assets.gold.dbt_runner import in_process_run

        return in_process_run(args, context=context, project_dir=self.project_dir, profiles_dir=self.profiles_dir,
                              saved_parse_path=Path(self.project_dir) / dbt_project.target_path,
                              target_path=target_path)


def gold_dbt(runner: str | None = None) -> InstalledDbtCliResource:
    """The dbt resource of the gold assets: dbt of the project's environment, with the runner of DBT_RUNNER."""
    runner = runner or value("DBT_RUNNER")
    if runner not in get_args(Runner):
        raise ValueError(f"DBT_RUNNER must be one of {', '.join(get_args(Runner))}, not {runner!r}")
    return InstalledDbtCliResource(project_dir=dbt_project,  # type: ignore[arg-type]  # its validator takes a DbtProject
                                   dbt_executable=DBT_EXECUTABLE, runner=cast(Runner, runner))


def parse_for_connection(environment: dict[str, str]) -> None:
    """Parse the project again when the saved parse was made for another database or other project files.
    Gold runs start from the saved parse (target/partial_parse.msgpack) without parsing (dbt_runner.py),
    so an edited model must be parsed here; the relations' database comes from the connection (the bootstrap
    parses without one)."""
    parsed_for = [environment.get(name) for name in PARSE_VARIABLES]
    wanted = hashlib.sha256(json.dumps([*parsed_for, project_files_digest(DBT_PROJECT_DIR)]).encode()).hexdigest()
    if PARSED_FOR.is_file() and PARSED_FOR.read_text() == wanted:
        return
    subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                    "--profiles-dir", str(DBT_PROJECT_DIR)], env={**os.environ, **environment}, check=True)
    PARSED_FOR.write_text(wanted)
