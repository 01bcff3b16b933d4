"""The code location loads, in process and through the `dagster` CLI with the project's dagster.yaml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load():
    from domotic_assets.definitions import defs

    dg.Definitions.validate_loadable(defs)
    assert {"warehouse", "share", "sftp", "reference_db"} <= set(defs.resources)


def test_dagster_cli_validates_the_workspace(settings, postgres):
    env = {**os.environ, **settings.env}
    env.pop("DAGSTER_HOME")  # the CLI then uses ./dagster.yaml with a temporary home
    result = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate",
                             "-w", "workspace.yaml"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr
