"""Every environment variable of the platform, declared once: name, default, secret or not, required or not,
and meaning. The configuration reference (`docs/configuration.md`) and `.env.example` are generated from
`VARIABLES`; code reads an optional setting with `value()` or `integer()` (environment, else the default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
    Variable("SENSOR_INTERVAL_SECONDS", "tick interval of the SMB sensor and of the gold automation (the hot path "
             "from a new file to gold)", "10", group="sensors"),
    Variable(
        "SENSOR_FUTURE_MINUTES",
        "a sensor file dated more than this many minutes after now is held back and reported, not ingested",
        "1440",
        group="sensors",
    ),
    Variable(
        "SENSOR_FILE_MAX_BYTES",
        "a sensor file larger than this (they are 3–6 KB) is quarantined as `too_large` without being read",
        str(1024 * 1024),
        group="sensors",
    ),
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
    Variable(
        "WEATHER_FILE_MAX_BYTES",
        "a forecast file larger than this (a day's file is a few MB) is quarantined as `too_large` without being read",
        str(128 * 1024 * 1024),
        group="weather",
    ),
    Variable("WEATHER_HOUR", f"hour of the daily weather schedule ({TIMEZONE})", "7", group="weather"),
    Variable("WEATHER_MIN", "minute of the daily weather schedule", "30", group="weather"),
    # ML forecasts
    Variable("ML_BACKTEST_DAYS", "daily cutoffs of the rolling-origin backtests (the last days with data)", "28",
             group="ml"),
    Variable("ML_FALLBACK_MODEL_DAYS", "when the newest model fails its gates, the last model that passed, its "
             "data ending at most this many days before the forecast day, is published (else the best baseline)", "7",
             group="ml"),
    Variable("ML_LIVE_SKILL_MARGIN", "the live skill check warns (and alerts) when the published forecasts' log "
             "loss (occupancy) or MAE (power) over 28 days is worse than the backtest's by more than this share",
             "0.25", group="ml"),
    Variable("ML_STALE_ROOM_DAYS", "a room whose target is unknown for this many days before the forecast day "
             "(its sensor stopped, the room was removed) is not forecast; the run names it", "3", group="ml"),
    # gold (dbt)
    Variable("DBT_RUNNER", "how gold runs dbt: `in-process` (from the saved parse, in the step's process) or `cli` "
             "(dagster-dbt's command line, a subprocess); see docs/gold.md#how-a-gold-run-runs-dbt", "in-process",
             group="gold"),
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
    Variable("DBT_DOCS_PORT", "port of the dbt docs site of `make docs` (127.0.0.1)", "8080", group="operations"),
    Variable("ALERT_WEBHOOK_URL", "URL that receives a JSON POST for every alert: failed runs, freshness breaches, "
             "device-health alerts (Slack/Teams/any webhook); unset: alerts are recorded in governance.alerts and the "
             "log only", "", secret=True, group="operations"),
    Variable("ALERT_BATTERY_LOW_PCT", "device-health alert `battery_low`: a device's lowest battery level of a day "
             "below this percentage", "15", group="operations"),
    Variable("ALERT_SILENT_UPTIME_PCT", "device-health alert `sensor_silent`: a device's uptime of a day below this "
             "percentage while its apartment's best device is above 90 %", "50", group="operations"),
    Variable("ALERT_STUCK_MINUTES", "device-health alert `value_stuck`: a climate measurement (temperature, "
             "humidity, CO2, noise, pressure) that keeps one value this many minutes while its sensor reports, from "
             "a device whose value changed at least once an hour the day before", "360", group="operations"),
    Variable("BRONZE_RETENTION_DAYS", "bronze files of local days older than this are removed by "
             "`bronze_retention_job` once silver has loaded them", "365", group="operations"),
    Variable("BACKTEST_RETENTION_DAYS", "backtest rows of gold.fact_prediction written longer ago are removed by "
             "`bronze_retention_job`", "90", group="operations"),
    Variable("GDPR_EXPORT_DIR", "folder of the GDPR export archives (`gdpr_export_job`)",
             fallback="`$DOMOTIC_RUNTIME_DIR/exports`", group="operations"),
    Variable(
        "DAGSTER_MODE", "`dev` (`dagster dev`) or `service` (`dagster-webserver` + `dagster-daemon`)", "dev", group="operations"
    ),
    # dashboards (Apache Superset, docs/dashboards.md)
    Variable("SUPERSET_ENABLED", "`make up` starts Superset with the dashboards (`yes` or `no`)", "yes",
             group="dashboards"),
    Variable("SUPERSET_PORT", "port of Superset (127.0.0.1)", "8088", group="dashboards"),
    Variable("SUPERSET_ADMIN_USER", "the manager's Superset account (an Admin) and warehouse login, which sees "
             "every apartment", "manager", group="dashboards"),
    Variable("SUPERSET_ADMIN_PASSWORD", "its Superset password", secret=True,
             fallback="generated into `.runtime/secrets.env`", group="dashboards"),
    Variable("SUPERSET_METADATA_URL", "Superset's own database, `postgresql+psycopg2://user:password@host:port/db`",
             secret=True, fallback="database `superset` of the embedded cluster", group="dashboards"),
    Variable("SUPERSET_METADATA_PASSWORD", "password of the embedded cluster's `domotic_superset` role, owner of "
             "that database", secret=True, fallback="generated into `.runtime/secrets.env`", group="dashboards"),
    Variable("SUPERSET_SECRET_KEY", "Superset's key for sessions and its stored credentials", secret=True,
             fallback="generated into `.runtime/secrets.env`", group="dashboards"),
    Variable("SUPERSET_LOGIN_KEY", "key from which each Superset user's warehouse password is derived (changing it "
             "needs every login's password set again: `domotic_ops bi-user add`)", secret=True,
             fallback="generated into `.runtime/secrets.env`", group="dashboards"),
)
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
    return found if found else default(name)  # unset or empty


def integer(name: str, environ: Mapping[str, str] | None = None) -> int:
    """The variable as a whole number, with an error that names it."""
    text = value(name, environ)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}") from None
