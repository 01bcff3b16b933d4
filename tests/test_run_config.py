"""Run config carries only what a user may choose: the resources (hosts, ports, paths, host-key policy, URLs)
come from the environment and cannot be changed from the Launchpad, so nobody with the UI can send the sFTP
password to a host of their choosing or point bronze elsewhere; the documented run configs still validate."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
import yaml

from domotic_assets.ingestion.sensors import copy_config
from tests.whole_platform import whole_platform

pytestmark = pytest.mark.component
ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = {"DB_URL": "postgresql+psycopg2://domotic:secret@db.example.org:5432/domotic",
               "SMB_PATH": "/mnt/domotic", "BRONZE_ROOT": "/srv/domotic/bronze", "SFTP_HOST": "meteo.example.org",
               "SFTP_USER": "domotic", "SFTP_PASSWORD": "secret",
               "MYSQL_URL": "mysql+pymysql://reader:secret@mysql.example.org:3306/Appartments"}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return whole_platform()


@pytest.fixture
def environment(monkeypatch):
    for name, text in ENVIRONMENT.items():
        monkeypatch.setenv(name, text)


@pytest.mark.parametrize("job, resource, changes", [
    ("weather_files_job", "sftp", {"host": "attacker.example", "password": {"env": "SFTP_PASSWORD"}}),
    ("weather_files_job", "sftp", {"host_key_policy": "accept-unknown", "known_hosts": "/tmp/known_hosts"}),
    ("sensor_files_job", "share", {"path": "/etc"}),
    ("sensor_files_job", "bronze", {"root": "/tmp/elsewhere"}),
    ("sensor_files_job", "warehouse", {"db_url": "postgresql+psycopg2://domotic:x@attacker.example/domotic"}),
])
def test_the_launchpad_cannot_change_a_resource_set_from_the_environment(defs, environment, job, resource, changes):
    """The run config the Launchpad would send: the resource's whole configuration, one host or path changed."""
    job_def = defs.resolve_job_def(job)
    current = dg.validate_run_config(job_def, {})["resources"][resource]["config"]
    with pytest.raises(dg.DagsterInvalidConfigError, match="unexpected config entr"):
        dg.validate_run_config(job_def, {"resources": {resource: {"config": {**current, **changes}}}})


def documented_run_configs() -> list[tuple[str, dict]]:
    """The run configs docs/governance.md gives for its jobs, as written there."""
    text = (ROOT / "docs" / "governance.md").read_text(encoding="utf-8")
    found = []
    for job, line in re.findall(r"^# (\w+_job)\b.*\n(ops: .*)$", text, flags=re.MULTILINE):
        found.append((job, yaml.safe_load(line)))
    return found


def test_the_documented_run_configs_still_validate(defs, environment):
    governance = documented_run_configs()
    assert {job for job, _ in governance} == {"gdpr_export_job", "gdpr_erase_job"}
    configs = [
        *governance,
        ("sensor_files_job", {"ops": {"bronze_sensor_files": {"config": {"settle_seconds": 5.0, "workers": 4}},
                                      "silver_sensor_events": {"config": {"full_reload": True,
                                                                          "keep_missing_files": True}}}}),
        ("sensor_files_job", copy_config(["29.10.2023 0000_JimmyLoup_received.json"])),  # what the SMB sensor sends
        ("weather_files_job", {"ops": {"silver_weather_forecasts": {"config": {"keep_missing_files": True}}}}),
        ("bronze_retention_job", {"ops": {"apply_retention": {"config": {"dry_run": True}}}}),
    ]
    for job, config in configs:
        dg.validate_run_config(defs.resolve_job_def(job), config)
    gold = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey("fact_energy_minute")})
    dg.validate_run_config(gold, {"ops": {gold.nodes[0].name: {"config": {"full_refresh": True}}}})


def test_the_fixed_resources_are_still_read_from_the_environment_when_used(defs, environment):
    with dg.build_resources({name: defs.resources[name] for name in ("sftp", "bronze", "warehouse")}) as built:
        assert (built.sftp.host, built.sftp.user, built.sftp.password) == ("meteo.example.org", "domotic", "secret")
        assert built.bronze.root == ENVIRONMENT["BRONZE_ROOT"] and built.warehouse.db_url == ENVIRONMENT["DB_URL"]
