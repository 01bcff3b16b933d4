"""The dbt project of the gold layer. Its manifest is prepared by the project's own commands
(`scripts/bootstrap.sh`, which `make up`, `make test` and CI run, parses it when the dbt files change), never by
`dagster dev`."""

import sys
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the project's environment, whatever PATH says
DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class InstalledDbtCliResource(DbtCliResource):
    """dbt of the project's environment. Its version is read from the installed dbt-core: dagster-dbt otherwise
    runs `dbt --version` before every command, which asks pypi.org for the latest release (about 3 s per run,
    and a call out of the machine)."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))


def gold_dbt() -> InstalledDbtCliResource:
    """The dbt resource of the gold assets."""
    return InstalledDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
