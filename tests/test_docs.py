"""The documentation is the repository's own and it is true: every link of README.md and docs/ and every
`docs/…#anchor` named in the code resolves, nothing points at documents a user does not have, and the
commands the documents give run as written (each is either run here or listed with the reason it is not)."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
CODE_REFERENCE = re.compile(r"\bdocs/([\w-]+\.md)(?:#([\w-]+))?")
OUTSIDE = re.compile(r"design\.md|data-contract\.md|contract §|design §")
BASH_BLOCK = re.compile(r"^ *```bash\n(.*?)^ *```", re.M | re.S)

# Documented commands that tests run, with the exit statuses that mean "worked".
RUN = {
    "make help": {0},
    "make status": {0},
    "make check": {0},
    "make bootstrap": {0},
    ".venv/bin/python -m domotic_ops check": {0},
    ".venv/bin/python -m domotic_ops status": {0},
    ".venv/bin/python -m domotic_ops pg status": {0},
    ".venv/bin/python -m domotic_ops dagster status": {0},
    ".venv/bin/python -m domotic_ops superset status": {0},
    ".venv/bin/python -m domotic_ops access-sql": {0},
    ".venv/bin/python -m domotic_ops health": {0, 1},  # 1: a source is stale (the test data is from 2023)
    ".venv/bin/python -m domotic_ops backup": {0},
    ".venv/bin/python -m demo status": {0},
    ".venv/bin/python -m demo mysql status": {0},
    ".venv/bin/python -m demo sftp status": {0},
}
# Documented commands that are not run here, and why.
NOT_RUN = {
    "make up": "starts the demo platform (tests/test_dagster_dev.py and tests/test_browser.py start Dagster)",
    "make test": "is the test suite itself",
    "make down": "stops the test session's services",
    "make lint": "make test runs it before the tests",
    "make docs": "serves the dbt docs until stopped; tests/test_gold.py generates and serves them",
    ".venv/bin/python -m domotic_ops up": "starts services; tests/test_operations.py starts them",
    ".venv/bin/python -m domotic_ops down": "stops the test session's services",
    ".venv/bin/python -m domotic_ops pg start": "starts services; the test session starts its own",
    ".venv/bin/python -m domotic_ops pg stop": "stops the test session's PostgreSQL",
    ".venv/bin/python -m domotic_ops dagster start": "starts Dagster; tests/test_browser.py does",
    ".venv/bin/python -m domotic_ops dagster stop": "stops Dagster; tests/test_browser.py does",
    ".venv/bin/python -m domotic_ops superset start": "starts Superset; tests/test_dashboards.py does",
    ".venv/bin/python -m domotic_ops superset stop": "stops Superset; tests/test_dashboards.py does",
    ".venv/bin/python -m demo up": "starts the demo platform",
    ".venv/bin/python -m demo down": "stops the test session's services",
    ".venv/bin/python -m demo mysql start": "starts services; the test session starts its own",
    ".venv/bin/python -m demo mysql stop": "stops the test session's MariaDB",
    ".venv/bin/python -m demo sftp start": "starts services; the test session starts its own",
    ".venv/bin/python -m demo sftp stop": "stops the test session's sFTP server",
    ".venv/bin/python -m domotic_ops dbt <dbt arguments>": "a placeholder; tests/test_gold.py runs dbt",
    ".venv/bin/python -m domotic_ops restore DUMP --database EMPTY_DB": "placeholders; tests/test_postgres.py restores",
    ".venv/bin/python -m domotic_ops bi-user add alice --apartment jimmy": "tests/test_dashboards.py adds and "
                                                                            "removes users of its own Superset",
    ".venv/bin/python -m domotic_ops bi-user add bob --manager": "tests/test_dashboards.py adds a manager (the admin)",
    ".venv/bin/python -m domotic_ops bi-user remove alice": "tests/test_dashboards.py removes a user",
    ".venv/bin/python -m domotic_ops dbt-docs": "serves the dbt docs until stopped; tests/test_gold.py runs it",
    ".venv/bin/python -m demo generate --start 2023-08-01 --days 85 --apartments 3 --seed 1":
        "writes 367,000 files; tests/test_generator_*.py test the generator",
    ".venv/bin/dagster asset materialize -m domotic_assets.sources_definitions --select bronze_sensor_files "
    "--partition 2023-10-03":
        "tests/test_definitions.py runs it on the test data's days",
    ".venv/bin/dagster asset materialize -m domotic_assets.sources_definitions --select silver_sensor_events "
    "--partition-range 2023-08-18...2023-11-10": "tests/test_definitions.py runs it on the test data's days",
    "export DAGSTER_HOME=/srv/domotic/dagster_home && mkdir -p $DAGSTER_HOME && cp dagster.yaml $DAGSTER_HOME/":
        "writes under /srv (a production set-up)",
    ".venv/bin/dagster-webserver -w workspace.yaml": "a long-running service; tests/test_browser.py runs it",
    ".venv/bin/dagster-daemon run -w workspace.yaml": "a long-running service; tests/test_browser.py runs it",
}


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines()
            if re.match(r"#{1,6} ", line)}


def broken(target: Path, anchor: str | None) -> bool:
    return not target.exists() or (anchor is not None and anchor not in anchors(target))


def dangling_links(documents: list[Path]) -> list[str]:
    found = []
    for document in documents:
        for link in LINK.findall(document.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://", link):
                continue
            path, _, anchor = link.partition("#")
            target = (document.parent / path).resolve() if path else document
            if broken(target, anchor or None):
                found.append(f"{document.name}: {link}")
    return found


def tracked_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in names.splitlines() if (ROOT / name).is_file()]


def text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""


def expand(line: str) -> list[str]:
    """A documented command line as the commands it stands for: comment dropped, `[optional]` parts left
    out, each `a|b|c` alternative given on its own."""
    line = re.sub(r"\s+\[[^\]]*\]", "", line.split("  #")[0].split(" # ")[0]).strip()
    words = [word.split("|") for word in line.split(" ")]
    return [" ".join(choice) for choice in itertools.product(*words)]


def documented_commands(documents: list[Path]) -> list[str]:
    commands = []
    for document in documents:
        for block in BASH_BLOCK.findall(document.read_text(encoding="utf-8")):
            for line in block.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    commands += expand(line)
    return list(dict.fromkeys(commands))


@pytest.mark.unit
def test_every_link_of_the_documents_resolves():
    assert dangling_links(DOCUMENTS) == []


@pytest.mark.unit
def test_a_dangling_link_or_anchor_is_found(tmp_path):
    (tmp_path / "page.md").write_text("# A `page`, its title\n## Rules of thumb\n")
    (tmp_path / "index.md").write_text("[ok](page.md#rules-of-thumb) [title](page.md#a-page-its-title) [self](#x) "
                                       "[gone](missing.md) [bad](page.md#nothing) [web](https://example.org)\n# x\n")
    assert dangling_links([tmp_path / "index.md"]) == ["index.md: missing.md", "index.md: page.md#nothing"]


@pytest.mark.unit
def test_every_docs_reference_in_the_code_resolves():
    wrong = []
    for path in tracked_files():
        if path.suffix == ".md":
            continue
        for page, anchor in CODE_REFERENCE.findall(text_of(path)):
            if broken(ROOT / "docs" / page, anchor or None):
                wrong.append(f"{path.relative_to(ROOT)}: docs/{page}{'#' + anchor if anchor else ''}")
    assert wrong == []


@pytest.mark.unit
def test_nothing_points_at_documents_outside_the_repository():
    this = Path(__file__).resolve()
    wrong = [f"{path.relative_to(ROOT)}: {match}" for path in tracked_files() if path != this
             for match in OUTSIDE.findall(text_of(path))]
    assert wrong == []


@pytest.mark.unit
def test_documented_commands_are_expanded_as_they_read():
    assert expand(".venv/bin/python -m demo sftp start|stop|status       # demo sFTP server") == [
        ".venv/bin/python -m demo sftp start", ".venv/bin/python -m demo sftp stop",
        ".venv/bin/python -m demo sftp status"]
    assert expand(".venv/bin/python -m domotic_ops health [--now ISO]    # freshness") == [
        ".venv/bin/python -m domotic_ops health"]


@pytest.mark.unit
def test_every_documented_command_is_run_or_has_a_reason_not_to_be():
    commands = documented_commands(DOCUMENTS)
    assert [command for command in commands if command not in RUN and command not in NOT_RUN] == []
    assert sorted(set(RUN) - set(commands)) == [], "RUN lists commands the documents no longer give"
    assert sorted(set(NOT_RUN) - set(commands)) == [], "NOT_RUN lists commands the documents no longer give"


@pytest.mark.integration
@pytest.mark.parametrize("command", sorted(RUN))
def test_a_documented_command_runs_as_written(command, settings, postgres, mariadb, sftp_server, generated,
                                             tmp_path):
    # The test session's platform, as a user's shell would point at it: its runtime folder and ports.
    pointers = ("DOMOTIC_RUNTIME_DIR", "DOMOTIC_PG_PORT", "DEMO_MYSQL_PORT", "DEMO_SFTP_PORT", "DAGSTER_PORT")
    env = {**os.environ, **{name: settings[name] for name in pointers}, "DOMOTIC_ENV_FILE": str(tmp_path / "no.env")}
    result = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode in RUN[command], result.stdout[-3000:] + result.stderr[-3000:]
