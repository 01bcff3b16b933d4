"""The dbt project of the gold layer. Its manifest is prepared by the project's own commands
(`scripts/bootstrap.sh`, which `make up`, `make test` and CI run, parses it when the dbt files change), never by
`dagster dev`."""

import hashlib
import json
import os
import subprocess
import sys
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

from domotic_ops.dbt_files import project_files_digest

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the project's environment, whatever PATH says
SAVED_PARSE_DBT = Path(__file__).with_name("saved_parse_dbt.py")
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

    def _initialize_dbt_core_adapter(self, args):
        """No dbt adapter in the Dagster process: dagster-dbt builds one before every command (about 1 s of
        parsing dbt's macros) only for its fetch_row_counts() and fetch_column_metadata(), which the gold
        assets do not use (their row counts come from dbt's own results)."""
        return None


def gold_dbt() -> InstalledDbtCliResource:
    """The dbt resource of the gold assets: dbt of the project's environment, started from the saved parse
    (`saved_parse_dbt.py`, run by this environment's Python ahead of dbt's own arguments)."""
    return InstalledDbtCliResource(project_dir=dbt_project, dbt_executable=sys.executable,
                                   global_config_flags=[str(SAVED_PARSE_DBT)])


def parse_for_connection(environment: dict[str, str]) -> None:
    """Parse the project again when the saved parse was made for another database or other project files.
    Gold runs start from the saved parse (target/partial_parse.msgpack) without parsing (saved_parse_dbt.py),
    so an edited model must be parsed here; the relations' database comes from the connection (the bootstrap
    parses without one)."""
    parsed_for = [environment.get(name) for name in PARSE_VARIABLES]
    wanted = hashlib.sha256(json.dumps([*parsed_for, project_files_digest(DBT_PROJECT_DIR)]).encode()).hexdigest()
    if PARSED_FOR.is_file() and PARSED_FOR.read_text() == wanted:
        return
    subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                    "--profiles-dir", str(DBT_PROJECT_DIR)], env={**os.environ, **environment}, check=True)
    PARSED_FOR.write_text(wanted)
