"""How gold runs dbt: the in-process runner rests on internals of dbt-core and dagster-dbt, so it is pinned to the
versions it was checked against (any other version takes dagster-dbt's public command-line path); the runner
setting is checked by name; a full refresh that would wipe days is refused before dbt runs."""

from importlib.metadata import version

import dagster as dg
import pytest

from domotic_assets.gold import dbt_runner
from domotic_assets.gold.assets import gold_daily_models, refuse_partial_full_refresh
from domotic_assets.gold.dbt_runner import CHECKED_WITH, checked, compile_template, keep_compiled_templates
from domotic_assets.gold.project import gold_dbt
from domotic_assets.timing import daily_partitions
from resources.postgres import PostgresResource


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


@pytest.mark.component
def test_a_full_refresh_of_some_days_is_refused_before_dbt_runs():
    """It would recreate the fact tables with those days only, deleting every other day."""
    every_key = daily_partitions.get_partition_keys()
    refuse_partial_full_refresh(every_key, every_key)  # every day: let through
    refuse_partial_full_refresh(every_key[:-1], every_key)  # launched before midnight, a day appeared since
    with pytest.raises(dg.Failure, match="would delete every other day"):
        refuse_partial_full_refresh(every_key[:-2], every_key)
    with pytest.raises(dg.Failure, match="would delete every other day"):
        refuse_partial_full_refresh(every_key[1:], every_key)
    result = dg.materialize(
        [gold_daily_models], partition_key="2023-10-03", raise_on_error=False,
        resources={"dbt": gold_dbt(), "warehouse": PostgresResource(db_url="postgresql+psycopg2://nobody:x@127.0.0.1:9/none")},
        run_config={"ops": {"gold_daily_models": {"config": {"full_refresh": True}}}})
    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    assert "would delete every other day: run it as a backfill of every partition" in str(failure.event_specific_data)


@pytest.mark.unit
def test_dbt_s_templates_compiled_by_one_process_are_loaded_by_the_next(tmp_path, monkeypatch):
    """A template compiled once is stored and loaded again instead of compiled (as a new process does); the text
    and the native environments keep their own compiled code for the same source."""
    from dbt_common.clients.jinja import MacroFuzzEnvironment, get_template
    from dbt_common.exceptions import CompilationError

    monkeypatch.setattr(MacroFuzzEnvironment, "compile", MacroFuzzEnvironment.compile)  # restored after the test
    keep_compiled_templates(tmp_path)
    source = "{{ [1, 2] | length + x }}"
    assert get_template(source, {}).render({"x": 1}) == "3"
    assert get_template(source, {}, native=True).render({"x": 1}) == 3
    assert len(list(tmp_path.rglob("*.jinja"))) == 2

    def compile_again(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr(dbt_runner, "compile_template", compile_again)  # a new process finds them compiled
    assert get_template(source, {}).render({"x": 2}) == "4"
    assert get_template(source, {}, native=True).render({"x": 2}) == 4
    with pytest.raises(CompilationError, match="compiled again"):
        get_template("{{ x }} changed", {}).render({"x": 1})


@pytest.mark.unit
def test_a_template_that_does_not_compile_fails_once_with_jinja_s_error(tmp_path, monkeypatch):
    from dbt_common.clients.jinja import MacroFuzzEnvironment, get_template
    from dbt_common.exceptions import CompilationError

    monkeypatch.setattr(MacroFuzzEnvironment, "compile", MacroFuzzEnvironment.compile)  # restored after the test
    keep_compiled_templates(tmp_path)
    compiled = []

    def counted(*args, **kwargs):
        compiled.append(args[1])
        return compile_template(*args, **kwargs)

    monkeypatch.setattr(dbt_runner, "compile_template", counted)
    with pytest.raises(CompilationError, match="unexpected"):
        get_template("{{ x + }}", {}).render({"x": 1})
    assert compiled == ["{{ x + }}"] and not list(tmp_path.rglob("*.jinja"))


@pytest.mark.unit
def test_a_kept_template_that_cannot_be_read_is_compiled_again(tmp_path, monkeypatch):
    """The kept templates only save time: a damaged file is compiled again (and replaced), not a failed build."""
    from dbt_common.clients.jinja import MacroFuzzEnvironment, get_template

    monkeypatch.setattr(MacroFuzzEnvironment, "compile", MacroFuzzEnvironment.compile)  # restored after the test
    keep_compiled_templates(tmp_path)
    source = "{{ [1, 2] | length + x }}"
    assert get_template(source, {}).render({"x": 1}) == "3"
    [kept] = tmp_path.rglob("*.jinja")
    kept.write_bytes(kept.read_bytes()[:40])  # cut in the middle of its compiled code
    assert get_template(source, {}).render({"x": 2}) == "4"
