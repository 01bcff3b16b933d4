"""The dbt project of the gold layer. Its manifest is prepared by the project's own commands
(`scripts/bootstrap.sh`, which `make up`, `make test` and CI run, parses it when the dbt files change), never by
`dagster dev`."""

import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the project's environment, whatever PATH says
DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
