"""The platform's configuration: every environment variable declared once, and the merged settings.

Each `Variable` says its name, default, whether it is a secret, whether the platform cannot run without it,
and what it means; the README's configuration table and `.env.example` are generated from `VARIABLES`.
Precedence when the operations CLI merges them, lowest first: declared defaults < files the set-up wrote in
the runtime folder (`secrets.env`, `sources.env`) < `.env` < the process environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent

# The platform's one time zone: partitions, local dates and schedules.
TIMEZONE = "Europe/Zurich"
WAREHOUSE_DB = "domotic"
DAGSTER_DB = "domotic_dagster"
PG_ROLE = "domotic"


@dataclass(frozen=True)
class Variable:
    """One environment variable: `default` None means "no default" (`fallback` then says what happens)."""

    name: str
    meaning: str
    default: str | None = None
    secret: bool = False
    required: bool = False
    fallback: str = ""
    group: str = "platform"


VARIABLES: tuple[Variable, ...] = (
    # warehouse
    Variable(
        "DB_URL",
        "warehouse, `postgresql+psycopg2://user:password@host:port/db`",
        secret=True,
        required=True,
        fallback="`make up`: the embedded cluster",
        group="warehouse",
    ),
    Variable("DAGSTER_PG_HOST", "Dagster's storage server (`dagster.yaml`)", fallback="host of `DB_URL`", group="warehouse"),
    Variable("DAGSTER_PG_PORT", "port of Dagster's storage server", fallback="port of `DB_URL`", group="warehouse"),
    Variable("DAGSTER_PG_USERNAME", "user of Dagster's storage", fallback="user of `DB_URL`", group="warehouse"),
    Variable(
        "DAGSTER_PG_PASSWORD", "password of Dagster's storage", secret=True, fallback="password of `DB_URL`", group="warehouse"
    ),
    Variable("DAGSTER_PG_DB", "database of Dagster's storage (same server as the warehouse)", DAGSTER_DB, group="warehouse"),
    # sensor files
    Variable(
        "SMB_PATH",
        "the sensor share: a mounted folder, or `smb://host[:port]/share/folder`",
        required=True,
        fallback="`make up`: the demo share `.runtime/demo/share`",
        group="sensors",
    ),
    Variable("SMB_USER", "user for `SMB_PATH=smb://…`", "", group="sensors"),
    Variable("SMB_PASSWORD", "password for `SMB_PATH=smb://…`", "", secret=True, group="sensors"),
    Variable(
        "BRONZE_ROOT", "folder of the bronze files", required=True, fallback="`make up`: `.runtime/bronze`", group="sensors"
    ),
    Variable(
        "APARTMENT_MAP",
        "SMB user → apartment id; other users become their lower-case name",
        "JimmyLoup=jimmy,JeremieVianin=jeremie",
        group="sensors",
    ),
    Variable(
        "SENSOR_TIMEZONE",
        "zone of the sensors' wall-clock `datetime` (`UTC` reproduces the reference)",
        TIMEZONE,
        group="sensors",
    ),
    Variable(
        "SMB_FULL_SCAN_MINUTES",
        "interval of the SMB sensor's full listing (gaps, new apartments, corrections)",
        "1440",
        group="sensors",
    ),
    Variable("SENSOR_INTERVAL_SECONDS", "tick interval of the SMB sensor", "30", group="sensors"),
    Variable("DOMOTIC_PARTITIONS_START", "first daily partition", "2022-01-01", group="sensors"),
    # weather forecasts
    Variable("SFTP_HOST", "weather sFTP server", required=True, fallback="`make up`: the demo server 127.0.0.1", group="weather"),
    Variable("SFTP_PORT", "its SSH port", "22", group="weather"),
    Variable("SFTP_USER", "its user", required=True, fallback="`make up`: `domotic`", group="weather"),
    Variable("SFTP_PASSWORD", "its password", secret=True, required=True, fallback="`make up`: generated", group="weather"),
    Variable("SFTP_PATH", "remote folder of the forecast files", "/Meteo2", group="weather"),
    Variable(
        "SFTP_KNOWN_HOSTS", "known_hosts file with the server's key (used when it exists)", "~/.ssh/known_hosts", group="weather"
    ),
    Variable(
        "SFTP_HOST_FINGERPRINT", "pinned `SHA256:…` fingerprint of the server's key (no known_hosts needed)", "", group="weather"
    ),
    Variable(
        "SFTP_HOST_KEY_POLICY", "`verify`, or `accept-unknown` to accept a key that cannot be verified", "verify", group="weather"
    ),
    Variable("SFTP_MAX_RETRIES", "download retries after a network error", "3", group="weather"),
    Variable("SFTP_RETRY_DELAY", "seconds before the first retry (doubling)", "600", group="weather"),
    Variable("WEATHER_MIN_YEAR", "forecast rows of older years are dropped", "2023", group="weather"),
    Variable("WEATHER_HOUR", f"hour of the daily weather schedule ({TIMEZONE})", "7", group="weather"),
    Variable("WEATHER_MIN", "minute of the daily weather schedule", "30", group="weather"),
    # ML forecasts
    Variable("ML_BACKTEST_DAYS", "daily cutoffs of the rolling-origin backtests (the last days with data)", "28",
             group="ml"),
    # reference database
    Variable(
        "MYSQL_URL",
        "reference database, `mysql+pymysql://user:password@host:port/db`",
        secret=True,
        required=True,
        fallback="`make up`: the demo MariaDB",
        group="reference",
    ),
    # the operations CLI (`python -m domotic_ops`)
    Variable("DOMOTIC_ENV_FILE", "the `.env` file the operations CLI reads", ".env", group="operations"),
    Variable(
        "DOMOTIC_RUNTIME_DIR",
        "git-ignored folder with clusters, logs, PIDs and generated secrets",
        ".runtime",
        group="operations",
    ),
    Variable("DOMOTIC_PG_PORT", "port of the embedded PostgreSQL (127.0.0.1)", "55432", group="operations"),
    Variable(
        "DOMOTIC_PG_DIR",
        "folder of the embedded cluster (data, socket, log); must be reachable by `postgres`",
        fallback="`$DOMOTIC_RUNTIME_DIR/postgres`",
        group="operations",
    ),
    Variable(
        "DOMOTIC_PG_BINDIR", "PostgreSQL server binaries", fallback="newest `/usr/lib/postgresql/*/bin`", group="operations"
    ),
    Variable(
        "DOMOTIC_PG_SUPERUSER_PASSWORD",
        "superuser password of the embedded cluster",
        secret=True,
        fallback="generated into `.runtime/secrets.env`",
        group="operations",
    ),
    Variable(
        "DOMOTIC_PG_PASSWORD",
        "password of the `domotic` role of the embedded cluster",
        secret=True,
        fallback="generated into `.runtime/secrets.env`",
        group="operations",
    ),
    Variable("DAGSTER_HOME", "Dagster's instance folder", fallback="`$DOMOTIC_RUNTIME_DIR/dagster_home`", group="operations"),
    Variable("DAGSTER_PORT", "port of the Dagster UI (127.0.0.1)", "3000", group="operations"),
    Variable("ALERT_WEBHOOK_URL", "URL that receives a JSON POST for every failed run (Slack/Teams/any webhook); "
             "unset: alerts are recorded in governance.alerts and the log only", "", secret=True, group="operations"),
    Variable("BRONZE_RETENTION_DAYS", "bronze files of local days older than this are removed by "
             "`bronze_retention_job` once silver has loaded them", "365", group="operations"),
    Variable("BACKTEST_RETENTION_DAYS", "backtest rows of gold.fact_prediction written longer ago are removed by "
             "`bronze_retention_job`", "90", group="operations"),
    Variable("GDPR_EXPORT_DIR", "folder of the GDPR export archives (`gdpr_export_job`)",
             fallback="`$DOMOTIC_RUNTIME_DIR/exports`", group="operations"),
    Variable(
        "DAGSTER_MODE", "`dev` (`dagster dev`) or `service` (`dagster-webserver` + `dagster-daemon`)", "dev", group="operations"
    ),
)
GENERATED_SECRETS = ("DOMOTIC_PG_SUPERUSER_PASSWORD", "DOMOTIC_PG_PASSWORD")
_BY_NAME = {variable.name: variable for variable in VARIABLES}


def default(name: str) -> str:
    """The declared default of an optional variable (KeyError for an unknown name, ValueError if none)."""
    value = _BY_NAME[name].default
    if value is None:
        raise ValueError(f"{name} has no default")
    return value


def value(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable's value from the environment, else its declared default."""
    found = (os.environ if environ is None else environ).get(name)
    return found if found not in (None, "") else default(name)


def integer(name: str, environ: Mapping[str, str] | None = None) -> int:
    """The variable as a whole number, with an error that names it."""
    text = value(name, environ)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}") from None


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `KEY=value` file (comments and blank lines ignored, optional quotes stripped)."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, text = line.partition("=")
        text = text.split(" #", 1)[0].strip()
        values[key.strip().removeprefix("export ").strip()] = text.strip("'\"")
    return values


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Write a private (mode 600) `KEY=value` file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")


def ensure_secrets(runtime: Path, names: Iterable[str] = GENERATED_SECRETS) -> dict[str, str]:
    """Generate missing passwords once and keep them in the runtime folder's private `secrets.env`."""
    path = runtime / "secrets.env"
    existing = read_env_file(path)
    missing = [name for name in names if name not in existing]
    if path.exists():
        path.chmod(0o600)  # whatever mode it was given since
    if missing:
        existing.update({name: secrets.token_urlsafe(24) for name in missing})
        write_env_file(path, existing)
    return existing


@dataclass(frozen=True)
class Settings:
    """The merged configuration; `user` holds what the user set (`.env`, environment, overrides)."""

    env: dict[str, str]
    user: frozenset[str]

    @property
    def runtime(self) -> Path:
        return Path(self.env["DOMOTIC_RUNTIME_DIR"])

    @property
    def embedded_postgres(self) -> bool:
        return "DB_URL" not in self.user

    def __getitem__(self, key: str) -> str:
        return self.env[key]

    def get(self, key: str, fallback: str = "") -> str:
        return self.env.get(key, fallback)

    def masked(self) -> dict[str, str]:
        """The declared variables with secrets (and passwords inside URLs) masked, for printing."""
        shown = {}
        for variable in VARIABLES:
            text = self.env.get(variable.name, "")
            if text and variable.secret:
                text = mask_url(text) if "://" in text else "********"
            shown[variable.name] = text
        return shown


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":********@", 1)


def load_settings(
    runtime: Path | None = None, overrides: Mapping[str, str] | None = None, read_environment: bool = True
) -> Settings:
    """Merge the configuration sources and derive what the embedded cluster implies.

    `read_environment=False` ignores `.env` and `os.environ` (tests run their own isolated platform).
    """
    env_file = ROOT / Path(os.environ.get("DOMOTIC_ENV_FILE") or default("DOMOTIC_ENV_FILE")).expanduser()
    user = {**read_env_file(env_file), **os.environ} if read_environment else {}
    user = {k: v for k, v in {**user, **(overrides or {})}.items() if v != ""}
    runtime = Path(runtime or user.get("DOMOTIC_RUNTIME_DIR") or ROOT / default("DOMOTIC_RUNTIME_DIR"))
    runtime = runtime.expanduser().resolve()
    runtime.mkdir(parents=True, exist_ok=True)
    written = {**ensure_secrets(runtime), **read_env_file(runtime / "sources.env")}
    defaults = {v.name: v.default for v in VARIABLES if v.default is not None}
    env = {**defaults, **written, **user, "DOMOTIC_RUNTIME_DIR": str(runtime)}
    env.setdefault("DAGSTER_HOME", str(runtime / "dagster_home"))
    env.setdefault("BRONZE_ROOT", str(runtime / "bronze"))
    env.setdefault("GDPR_EXPORT_DIR", str(runtime / "exports"))
    env.setdefault("DOMOTIC_PG_DIR", str(runtime / "postgres"))
    if "DB_URL" not in user:
        password = quote(env["DOMOTIC_PG_PASSWORD"], safe="")
        env["DB_URL"] = f"postgresql+psycopg2://{PG_ROLE}:{password}@127.0.0.1:{env['DOMOTIC_PG_PORT']}/{WAREHOUSE_DB}"
    for key, derived in dagster_storage_from(env["DB_URL"]).items():
        if key not in user:
            env[key] = derived
    return Settings(env=env, user=frozenset(user))


def dagster_storage_from(db_url: str) -> dict[str, str]:
    """Dagster's storage sits beside the warehouse on the same server, in its own database."""
    url = urlsplit(db_url)
    return {
        "DAGSTER_PG_HOST": url.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USERNAME": unquote(url.username or ""),
        "DAGSTER_PG_PASSWORD": unquote(url.password or ""),
    }
