"""`dagster dev` started by the project answers on 127.0.0.1 and stops completely by PID."""

from __future__ import annotations

from demo import procs
from demo.dagster_dev import DagsterDev


def test_ui_answers_then_stops_without_leftovers(settings, postgres):
    dagster = DagsterDev(settings)
    dagster.start()
    try:
        assert dagster.answers()
        pid = procs.read_pid(dagster.pid_file)
        assert procs.group_alive(pid)
    finally:
        assert dagster.stop() is True
    assert not dagster.answers()
    assert not procs.group_alive(pid)
