"""Dagster started by the project (`dagster dev`, or webserver + daemon) answers on 127.0.0.1 and stops
completely by PID."""

from __future__ import annotations

import dataclasses

import pytest

from domotic_ops import procs
from domotic_ops.dagster_service import DagsterService

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["dev", "service"])
def test_ui_answers_then_stops_without_leftovers(settings, postgres, mode):
    dagster = DagsterService(dataclasses.replace(settings, env={**settings.env, "DAGSTER_MODE": mode}))
    dagster.start()
    try:
        assert dagster.answers()
        pids = dagster.running()
        assert set(pids) == ({"dagster"} if mode == "dev" else {"dagster-webserver", "dagster-daemon"})
        assert all(procs.group_alive(pid) for pid in pids.values())
    finally:
        assert dagster.stop() is True
    assert not dagster.answers()
    assert not any(procs.group_alive(pid) for pid in pids.values())
