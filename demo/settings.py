"""The demo's configuration: its own variables, and the source settings of its stand-in servers.

For every source the user has not configured (`SMB_PATH`, `SFTP_HOST`, `MYSQL_URL`), the demo runs a
stand-in and writes its settings into the runtime folder's `sources.env`, which the platform's
configuration reads below `.env` and the environment. A source the user configured is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from domotic_config.settings import Settings, ensure_secrets, load_settings, write_env_file
from domotic_config.variables import Variable

MYSQL_DB = "Appartments"
MYSQL_USER = "domotic_ref"
SFTP_USER = "domotic"
DEMO_VARIABLES: tuple[Variable, ...] = (
    Variable("DEMO_SFTP_PORT", "port of the demo sFTP server (127.0.0.1)", "2222", group="demo"),
    Variable("DEMO_SFTP_PASSWORD", "password of the demo sFTP server", secret=True,
             fallback="generated into `.runtime/secrets.env`", group="demo"),
    Variable("DEMO_MYSQL_PORT", "port of the demo MariaDB (127.0.0.1)", "33306", group="demo"),
    Variable("DEMO_MYSQL_PASSWORD", "password of the demo MariaDB's read-only account", secret=True,
             fallback="generated into `.runtime/secrets.env`", group="demo"),
    Variable("DEMO_MYSQL_DIR", "folder of the demo MariaDB (data, socket); must be reachable by `mysql`",
             fallback="`$DOMOTIC_RUNTIME_DIR/mariadb`", group="demo"),
    Variable("DEMO_START", "first day of the demo data set", "2023-10-01", group="demo"),
    Variable("DEMO_DAYS", "days of the demo data set (the ML backtest needs 4 known weeks after a training week)",
             "42", group="demo"),
    Variable("DEMO_APARTMENTS", "apartments of the demo data set", "2", group="demo"),
    Variable("DEMO_SEED", "seed of the demo data set", "42", group="demo"),
)
DEMO_SECRETS = ("DEMO_SFTP_PASSWORD", "DEMO_MYSQL_PASSWORD")


def runs_share(settings: Settings) -> bool:
    return "SMB_PATH" not in settings.user


def runs_sftp(settings: Settings) -> bool:
    return "SFTP_HOST" not in settings.user


def runs_mysql(settings: Settings) -> bool:
    return "MYSQL_URL" not in settings.user


def load_demo_settings(runtime: Path | None = None, overrides: Mapping[str, str] | None = None,
                       read_environment: bool = True) -> Settings:
    """The platform's settings with the demo's variables and the settings of its stand-in servers."""
    base = load_settings(runtime, overrides, read_environment)
    defaults = {v.name: v.default for v in DEMO_VARIABLES if v.default is not None}
    demo = {**defaults, "DEMO_MYSQL_DIR": str(base.runtime / "mariadb"), **ensure_secrets(base.runtime, DEMO_SECRETS),
            **base.env}
    sources = {}
    if runs_share(base):
        sources["SMB_PATH"] = str(base.runtime / "demo" / "share")
    if runs_sftp(base):
        sources.update(SFTP_HOST="127.0.0.1", SFTP_PORT=demo["DEMO_SFTP_PORT"], SFTP_USER=SFTP_USER,
                       SFTP_PASSWORD=demo["DEMO_SFTP_PASSWORD"],
                       SFTP_KNOWN_HOSTS=str(base.runtime / "sftp" / "known_hosts"))
    if runs_mysql(base):
        password = quote(demo["DEMO_MYSQL_PASSWORD"], safe="")
        sources["MYSQL_URL"] = f"mysql+pymysql://{MYSQL_USER}:{password}@127.0.0.1:{demo['DEMO_MYSQL_PORT']}/{MYSQL_DB}"
    write_env_file(base.runtime / "sources.env", sources)
    platform = load_settings(runtime, overrides, read_environment)
    return Settings(env={**demo, **platform.env}, user=platform.user)
