"""The gold rules' parameters, declared once as the vars of `dbt_project/dbt_project.yml`: dbt reads them there;
the silver append, the device-health alerts and the tests read them here, without importing dbt."""

from functools import cache
from pathlib import Path

import yaml

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


@cache
def project_vars() -> dict:
    """The vars of `dbt_project.yml`."""
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
