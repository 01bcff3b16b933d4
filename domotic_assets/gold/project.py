"""The dbt project of the gold layer. Its manifest is prepared by the project's own commands
(`scripts/bootstrap.sh`, which `make up`, `make test` and CI run, parses it when the dbt files change), never by
`dagster dev`."""

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject
from dagster_dbt.asset_utils import extract_runtime_selection_from_args, get_updated_cli_invocation_params_for_context
from packaging.version import Version

from domotic_assets.gold.dbt_files import project_files_digest
from domotic_assets.gold.dbt_runner import DbtRun

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the project's environment, whatever PATH says
DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
PARSED_FOR = DBT_PROJECT_DIR / "target" / ".parsed-for-database"  # scripts/bootstrap.sh removes it
# What of the connection a parse depends on: the database named in every relation. Host, port and user do not
# reach the manifest, so a warehouse moved to another server or port is not parsed again.
PARSE_VARIABLES = ("DOMOTIC_DBT_DBNAME",)


class InstalledDbtCliResource(DbtCliResource):
    """dbt of the project's environment. Its version is read from the installed dbt-core: dagster-dbt otherwise
    runs `dbt --version` before every command, which asks pypi.org for the latest release (about 3 s per run,
    and a call out of the machine)."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    def run_in_process(self, args: Sequence[str], *, context: dg.AssetExecutionContext | None = None,
                       target_path: Path | None = None) -> DbtRun:
        """A dbt command run in this process from the saved parse (`dbt_runner.py`), with what `cli()` adds to
        it: the selection of the assets and checks the step materialises, a target folder of its own."""
        args, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context, manifest={}, dagster_dbt_translator=DagsterDbtTranslator(),
            runtime_selects=selects, runtime_excludes=excludes)
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        saved_parse_path = project_dir / dbt_project.target_path
        prefix = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-" if context else ""  # dagster-dbt's
        target_path = target_path or saved_parse_path / f"{prefix}{uuid.uuid4().hex[:7]}"
        indirect = ["--indirect-selection", params.indirect_selection] if params.indirect_selection else []
        return DbtRun(args=[*args, "--project-dir", str(project_dir), "--profiles-dir", self.profiles_dir,
                            "--target-path", str(target_path), "--log-path", str(target_path),
                            "--no-send-anonymous-usage-stats", *params.selection_args, *indirect],
                      saved_parse_path=saved_parse_path, manifest=params.manifest,
                      dagster_dbt_translator=params.dagster_dbt_translator, target_path=target_path,
                      project=params.dbt_project)


def gold_dbt() -> InstalledDbtCliResource:
    """The dbt resource of the gold assets: dbt of the project's environment."""
    return InstalledDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


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
