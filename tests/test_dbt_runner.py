"""The in-process dbt runner rests on internals of dbt-core and dagster-dbt: it is pinned to the versions it was
checked against, and any other version makes gold runs take dagster-dbt's public command-line path."""

from importlib.metadata import version

import pytest

from domotic_assets.gold.dbt_runner import CHECKED_WITH, checked
from domotic_assets.gold.project import gold_dbt


@pytest.mark.unit
def test_the_installed_dbt_versions_are_those_the_in_process_runner_was_checked_against():
    installed = {name: version(name) for name in CHECKED_WITH}
    assert checked(installed), (
        f"installed {installed}, checked with {CHECKED_WITH}: check domotic_assets/gold/dbt_runner.py against the "
        "new versions (tests/test_gold.py with DBT_RUNNER=in-process) and update CHECKED_WITH")


@pytest.mark.unit
def test_another_dbt_core_minor_or_dagster_dbt_release_is_not_checked():
    assert checked({"dbt-core": "1.11.0", "dagster-dbt": CHECKED_WITH["dagster-dbt"]})
    assert not checked({"dbt-core": "1.12.0", "dagster-dbt": CHECKED_WITH["dagster-dbt"]})
    assert not checked({"dbt-core": "1.110.0", "dagster-dbt": CHECKED_WITH["dagster-dbt"]})
    assert not checked({"dbt-core": "1.11.2", "dagster-dbt": "0.29.28"})


@pytest.mark.unit
def test_the_runner_setting_is_checked_by_name():
    assert gold_dbt("cli").runner == "cli"
    with pytest.raises(ValueError, match="DBT_RUNNER must be one of in-process, cli, not 'subprocess'"):
        gold_dbt("subprocess")
