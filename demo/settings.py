"""The platform's configuration: defaults, generated demo secrets, the user's `.env` and the process environment.

Precedence, lowest first: built-in defaults < `.runtime/secrets.env` (generated once) < `.env` < `os.environ`.
A `DB_URL` or `MYSQL_URL` given in `.env` or the environment means "use my own server": the embedded one
is then not started.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, unquote

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "DOMOTIC_PG_PORT": "55432",
    "DOMOTIC_MYSQL_PORT": "33306",
    "DAGSTER_PORT": "3000",
    "SFTP_HOST": "127.0.0.1",
    "SFTP_PORT": "2222",
    "SFTP_USER": "domotic",
    "SFTP_PATH": "/Meteo2",
    "SFTP_HOST_FINGERPRINT": "",
    "SFTP_HOST_KEY_POLICY": "verify",
    "SFTP_MAX_RETRIES": "3",
    "SFTP_RETRY_DELAY": "600",
    "SENSOR_TIMEZONE": "Europe/Zurich",
    "WEATHER_MIN_YEAR": "2023",
    "WEATHER_HOUR": "7",
    "WEATHER_MIN": "30",
    "BRONZE_RETENTION_DAYS": "30",
    "APARTMENT_MAP": "JimmyLoup=jimmy,JeremieVianin=jeremie",
    "SMB_USER": "",
    "SMB_PASSWORD": "",
    "SMB_FULL_SCAN_MINUTES": "1440",
    "DEMO_START": "2023-10-01",
    "DEMO_DAYS": "14",
    "DEMO_APARTMENTS": "2",
    "DEMO_SEED": "42",
}
GENERATED_SECRETS = ("DOMOTIC_PG_SUPERUSER_PASSWORD", "DOMOTIC_PG_PASSWORD", "SFTP_PASSWORD", "DOMOTIC_MYSQL_PASSWORD")
WAREHOUSE_DB = "domotic"
DAGSTER_DB = "domotic_dagster"
PG_ROLE = "domotic"
MYSQL_DB = "Appartments"
MYSQL_USER = "domotic_ref"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `KEY=value` file (comments and blank lines ignored, optional quotes stripped)."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.split(" #", 1)[0].strip()
        values[key.strip().removeprefix("export ").strip()] = value.strip("'\"")
    return values


def ensure_secrets(runtime: Path) -> dict[str, str]:
    """Generate the demo's passwords once and keep them in a private file of the runtime folder."""
    path = runtime / "secrets.env"
    existing = read_env_file(path)
    missing = [name for name in GENERATED_SECRETS if name not in existing]
    if missing:
        runtime.mkdir(parents=True, exist_ok=True)
        existing.update({name: secrets.token_urlsafe(24) for name in missing})
        path.touch(mode=0o600)
        path.write_text("".join(f"{k}={v}\n" for k, v in existing.items()), encoding="utf-8")
    return existing


@dataclass(frozen=True)
class Settings:
    """The merged configuration plus what it implies (paths, embedded or external servers)."""

    env: dict[str, str]
    embedded_postgres: bool
    embedded_mysql: bool
    embedded_sftp: bool
    demo_share: bool

    @property
    def runtime(self) -> Path:
        return Path(self.env["DOMOTIC_RUNTIME_DIR"])

    def __getitem__(self, key: str) -> str:
        return self.env[key]


def load_settings(runtime: Path | None = None, overrides: dict[str, str] | None = None,
                  read_environment: bool = True) -> Settings:
    """Merge the configuration sources and derive every variable the platform reads.

    `read_environment=False` ignores `.env` and `os.environ` (tests run their own isolated platform).
    """
    user = {**read_env_file(ROOT / ".env"), **os.environ} if read_environment else {}
    user.update(overrides or {})
    runtime = Path(runtime or user.get("DOMOTIC_RUNTIME_DIR") or ROOT / ".runtime").resolve()
    env = {**DEFAULTS, **ensure_secrets(runtime), **user, "DOMOTIC_RUNTIME_DIR": str(runtime)}
    env.setdefault("DAGSTER_HOME", str(runtime / "dagster_home"))
    env.setdefault("SMB_PATH", str(runtime / "demo" / "share"))
    env.setdefault("BRONZE_ROOT", str(runtime / "bronze"))
    env.setdefault("SFTP_KNOWN_HOSTS", str(runtime / "sftp" / "known_hosts"))
    embedded_postgres = "DB_URL" not in user
    if embedded_postgres:
        password = quote(env["DOMOTIC_PG_PASSWORD"], safe="")
        env["DB_URL"] = f"postgresql+psycopg2://{PG_ROLE}:{password}@127.0.0.1:{env['DOMOTIC_PG_PORT']}/{WAREHOUSE_DB}"
    embedded_mysql = "MYSQL_URL" not in user
    if embedded_mysql:
        password = quote(env["DOMOTIC_MYSQL_PASSWORD"], safe="")
        env["MYSQL_URL"] = f"mysql+pymysql://{MYSQL_USER}:{password}@127.0.0.1:{env['DOMOTIC_MYSQL_PORT']}/{MYSQL_DB}"
    for key, value in dagster_storage_from(env["DB_URL"]).items():
        env.setdefault(key, value)
    return Settings(env=env, embedded_postgres=embedded_postgres, embedded_mysql=embedded_mysql,
                    embedded_sftp="SFTP_HOST" not in user, demo_share="SMB_PATH" not in user)


def dagster_storage_from(db_url: str) -> dict[str, str]:
    """Dagster's storage sits beside the warehouse on the same server, in its own database."""
    url = urlsplit(db_url)
    return {
        "DAGSTER_PG_HOST": url.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USERNAME": unquote(url.username or ""),
        "DAGSTER_PG_PASSWORD": unquote(url.password or ""),
        "DAGSTER_PG_DB": DAGSTER_DB,
    }
