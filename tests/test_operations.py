"""The operations package: the configuration declaration and its documents, the `check` command, and the
embedded PostgreSQL refusing (in one sentence) a folder its service account cannot reach."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from demo.settings import DEMO_VARIABLES
from domotic_config import variables
from domotic_config.docs import render_env_example, render_table
from domotic_config.settings import load_settings, read_env_file, write_env_file
from domotic_ops import procs
from domotic_ops.check import run_checks
from domotic_ops.dagster_service import DagsterService
from domotic_ops.postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[1]
ALL_VARIABLES = (*variables.VARIABLES, *DEMO_VARIABLES)


@pytest.mark.unit
def test_the_configuration_page_and_env_example_are_generated_from_the_declaration():
    assert render_table(ALL_VARIABLES) in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8"), \
        "docs/configuration.md is stale: run .venv/bin/python scripts/config_docs.py"
    assert (ROOT / ".env.example").read_text(encoding="utf-8") == render_env_example(ALL_VARIABLES), \
        ".env.example is stale: run .venv/bin/python scripts/config_docs.py"


@pytest.mark.unit
def test_values_come_from_the_environment_else_the_declared_default():
    assert variables.value("WEATHER_HOUR", {}) == "7"
    assert variables.value("WEATHER_HOUR", {"WEATHER_HOUR": "6"}) == "6"
    assert variables.integer("SFTP_PORT", {"SFTP_PORT": "2022"}) == 2022
    with pytest.raises(ValueError, match="SFTP_PORT must be a whole number, not 'ssh'"):
        variables.integer("SFTP_PORT", {"SFTP_PORT": "ssh"})
    with pytest.raises(ValueError, match="DB_URL has no default"):
        variables.default("DB_URL")


@pytest.mark.unit
def test_precedence_and_masking(tmp_path, monkeypatch):
    env_file = tmp_path / "my.env"
    env_file.write_text("SFTP_PATH=/from-env-file\nSFTP_USER=file-user  # comment\n"
                        "DB_URL=postgresql+psycopg2://app:s3cret@db.example.org:5433/warehouse\n")
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / "sources.env").write_text("SFTP_PATH=/from-sources\nSFTP_PORT=2200\n")
    monkeypatch.setenv("DOMOTIC_ENV_FILE", str(env_file))
    monkeypatch.setenv("SFTP_USER", "environment-user")
    settings = load_settings(runtime=tmp_path / "runtime")
    assert settings["SFTP_PATH"] == "/from-env-file"       # .env over the set-up's files
    assert settings["SFTP_PORT"] == "2200"                 # the set-up's files over the defaults
    assert settings["SFTP_USER"] == "environment-user"     # the environment over .env
    assert settings["SFTP_RETRY_DELAY"] == "600"           # the declared default
    assert not settings.embedded_postgres
    assert (settings["DAGSTER_PG_HOST"], settings["DAGSTER_PG_PORT"], settings["DAGSTER_PG_DB"]) == \
        ("db.example.org", "5433", variables.DAGSTER_DB)
    shown = settings.masked()
    assert shown["DB_URL"] == "postgresql+psycopg2://app:********@db.example.org:5433/warehouse"
    assert shown["DAGSTER_PG_PASSWORD"] == "********"
    assert "s3cret" not in repr(shown)
    assert (tmp_path / "runtime" / "secrets.env").stat().st_mode & 0o777 == 0o600


@pytest.mark.unit
def test_env_files_are_read_as_dagster_reads_them_and_written_back_unchanged(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('SFTP_PASSWORD=pa #ss\nSFTP_USER="quoted # kept"\nexport SFTP_PATH=/m2  # comment\nEMPTY\n')
    assert read_env_file(env_file) == {
        "SFTP_PASSWORD": "pa", "SFTP_USER": "quoted # kept", "SFTP_PATH": "/m2"}
    values = {"A": 'with "quotes", a \\ backslash and # hash', "B": "$NOT_EXPANDED"}
    write_env_file(tmp_path / "written.env", values)
    assert read_env_file(tmp_path / "written.env") == values


@pytest.fixture
def locked_runtime():
    """A runtime folder inside a mode-700 folder owned by root (what a clone under /root looks like)."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root: the embedded servers only change accounts when started as root")
    locked = Path(tempfile.mkdtemp(prefix="dmt-locked-"))
    locked.chmod(0o700)
    yield locked / "clone" / ".runtime"
    subprocess.run(["rm", "-rf", str(locked)], check=True)


@pytest.mark.unit
def test_blocked_folder_names_the_first_folder_the_account_cannot_enter(locked_runtime):
    assert procs.blocked_folder(locked_runtime / "postgres", "postgres") == locked_runtime.parent.parent
    assert procs.blocked_folder(Path("/usr/lib"), "postgres") is None


@pytest.mark.integration
def test_up_in_a_folder_postgres_cannot_reach_stops_before_initdb_with_one_sentence(locked_runtime):
    env = {**os.environ, "DOMOTIC_ENV_FILE": "/nonexistent", "DOMOTIC_RUNTIME_DIR": str(locked_runtime)}
    result = subprocess.run([sys.executable, "-m", "domotic_ops", "up"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.count("\n") == 0 and message.count(". ") == 0, message
    assert f"may not enter {locked_runtime.parent.parent}: set DOMOTIC_PG_DIR in .env" in message
    assert not (locked_runtime / "postgres").exists()


@pytest.mark.integration
def test_the_cluster_works_from_a_locked_clone_with_a_reachable_cluster_folder(locked_runtime):
    reachable = Path(tempfile.mkdtemp(prefix="dmt-pg-"))
    reachable.chmod(0o755)
    settings = load_settings(runtime=locked_runtime, read_environment=False,
                                    overrides={"DOMOTIC_PG_DIR": str(reachable / "pg"),
                                               "DOMOTIC_PG_PORT": str(procs.free_port())})
    server = EmbeddedPostgres(settings)
    try:
        server.start()
        assert server.is_running()
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(reachable)], check=True)


@pytest.mark.integration
def test_check_passes_against_the_test_services_and_masks_secrets(settings, postgres, sftp_server, mariadb):
    lines: list[str] = []
    assert run_checks(settings, out=lines.append), "\n".join(lines)
    output = "\n".join(lines)
    for name in ("warehouse", "dagster storage", "SMB share", "sFTP server", "reference DB", "dashboards"):
        assert any(line.startswith("ok") and name in line for line in lines), name
    for secret in ("DOMOTIC_PG_PASSWORD", "SFTP_PASSWORD", "DEMO_MYSQL_PASSWORD"):
        assert settings[secret] not in output, secret


@pytest.mark.integration
def test_check_says_what_to_change_and_goes_on(settings, postgres, sftp_server, mariadb, tmp_path):
    broken = dataclasses.replace(settings, env={
        **settings.env, "SFTP_HOST_FINGERPRINT": "SHA256:" + "A" * 43, "SFTP_KNOWN_HOSTS": str(tmp_path / "absent"),
        "MYSQL_URL": "", "DB_URL": settings["DB_URL"].replace(settings["DOMOTIC_PG_PASSWORD"], "not-the-password-7x")},
        user=settings.user | {"DB_URL"})  # a server of one's own, with a wrong password
    lines: list[str] = []
    assert not run_checks(broken, out=lines.append)
    verdicts = {line[5:21].strip(): line for line in lines if line[:4] in ("ok  ", "FAIL")}
    assert verdicts["warehouse"].startswith("FAIL") and "check DB_URL" in verdicts["warehouse"]
    assert verdicts["sFTP server"].startswith("FAIL") and "SFTP_HOST_FINGERPRINT" in verdicts["sFTP server"]
    assert verdicts["reference DB"].startswith("FAIL") and "MYSQL_URL not set" in verdicts["reference DB"]
    assert verdicts["SMB share"].startswith("ok") and verdicts["dagster storage"].startswith("ok")
    assert "not-the-password-7x" not in "\n".join(lines)


@pytest.mark.unit
def test_platform_code_never_imports_the_demo():
    offenders = []
    for package in ("domotic_assets", "domotic_ops", "resources", "sensors_io"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "demo"]
    assert offenders == []


@pytest.mark.unit
def test_secrets_stay_private_and_the_superuser_password_never_reaches_dagster(tmp_path):
    runtime = tmp_path / "runtime"
    settings = load_settings(runtime=runtime, read_environment=False)
    (runtime / "secrets.env").chmod(0o644)
    settings = load_settings(runtime=runtime, read_environment=False)
    assert (runtime / "secrets.env").stat().st_mode & 0o777 == 0o600
    environment = DagsterService(settings).environment()
    for secret in ("DOMOTIC_PG_SUPERUSER_PASSWORD", "SUPERSET_ADMIN_PASSWORD", "SUPERSET_SECRET_KEY",
                   "SUPERSET_LOGIN_KEY", "SUPERSET_METADATA_PASSWORD"):
        assert secret not in environment and settings[secret] not in environment.values(), secret
    assert settings["DOMOTIC_PG_SUPERUSER_PASSWORD"] not in environment.values()
    assert environment["DB_URL"] == settings["DB_URL"]
