"""The Dagster UI in a real browser: headless Chromium (Debian's package, installed by scripts/bootstrap.sh)
loads the UI of a running platform (webserver + daemon), finds every layer in the asset graph, and a
materialisation launched through the UI's GraphQL API succeeds. Screenshots are written to
.runtime/screenshots for inspection."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from domotic_ops.dagster_service import DagsterService

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / ".runtime" / "screenshots"
LAYERS = ("bronze", "silver", "gold", "ml")
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}"""
STATUS = "query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"


def chromium(*args: str) -> subprocess.CompletedProcess:
    """Headless Chromium, given time for the UI's scripts and GraphQL requests to finish."""
    browser = shutil.which("chromium")
    assert browser, "chromium is missing: scripts/bootstrap.sh installs it"
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--virtual-time-budget=20000", "--window-size=1600,1000", *args],
                          capture_output=True, text=True, timeout=180)


def screenshot(url: str, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    path.unlink(missing_ok=True)
    chromium(f"--screenshot={path}", url)
    assert path.stat().st_size > 10_000, f"{path} is empty"
    return path


def graphql(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["data"]


@pytest.fixture(scope="module")
def ui(settings, postgres, mariadb, fresh_database, tmp_path_factory):
    """Webserver and daemon on a warehouse of their own, with an empty share (the sensors find nothing)."""
    folders = tmp_path_factory.mktemp("browser")
    (folders / "share").mkdir()
    env = {**settings.env, "DAGSTER_MODE": "service", "DB_URL": fresh_database("browser_test"),
           "SMB_PATH": str(folders / "share"), "BRONZE_ROOT": str(folders / "bronze")}
    dagster = DagsterService(dataclasses.replace(settings, env=env))
    dagster.start()
    yield dagster.url
    dagster.stop()


def test_the_asset_graph_shows_every_layer(ui):
    dom = chromium("--dump-dom", f"{ui}/asset-groups").stdout
    assert all(f">{group}<" in dom for group in LAYERS), dom[-2000:]
    screenshot(f"{ui}/asset-groups", "asset-graph.png")


def test_a_materialisation_launched_from_the_ui_succeeds(ui):
    params = {"selector": {"repositoryLocationName": "domotic_sources", "repositoryName": "__repository__",
                           "jobName": "__ASSET_JOB", "assetSelection": [{"path": ["silver_reference_tables"]}]}}
    launched = graphql(ui, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status, deadline = None, time.monotonic() + 300
    while status not in ("SUCCESS", "FAILURE", "CANCELED") and time.monotonic() < deadline:
        time.sleep(2)
        status = graphql(ui, STATUS, {"runId": run_id})["runOrError"]["status"]
    assert status == "SUCCESS"
    assert "silver_reference_tables" in chromium("--dump-dom", f"{ui}/runs/{run_id}").stdout
    screenshot(f"{ui}/runs/{run_id}", "materialisation-run.png")
    screenshot(f"{ui}/assets/silver_reference_tables", "silver-reference-tables.png")
