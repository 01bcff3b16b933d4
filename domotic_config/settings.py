"""The merged settings of the operations CLI and the demo: declared defaults < the files the set-up writes
in the runtime folder (`secrets.env`, `sources.env`) < `.env` < the process environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from dotenv import dotenv_values

from domotic_config.private import PRIVATE_FILE, runtime_folder
from domotic_config.variables import PG_ROLE, ROOT, VARIABLES, WAREHOUSE_DB, default

GENERATED_SECRETS = ("DOMOTIC_PG_SUPERUSER_PASSWORD", "DOMOTIC_PG_PASSWORD", "SUPERSET_ADMIN_PASSWORD",
                     "SUPERSET_METADATA_PASSWORD", "SUPERSET_SECRET_KEY", "SUPERSET_LOGIN_KEY")


def read_env_file(path: Path) -> dict[str, str]:
    """A `KEY=value` file as python-dotenv (and so Dagster) reads it; keys without a value are left out."""
    if not path.exists():
        return {}
    return {key: text for key, text in dotenv_values(path, encoding="utf-8").items() if text is not None}


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Write a private (mode 600) `KEY="value"` file that `read_env_file` reads back unchanged (a value holding
    `${NAME}` would be expanded, as python-dotenv expands it in `.env`; the set-up's values never hold one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=PRIVATE_FILE)
    path.chmod(PRIVATE_FILE)
    quoted = {key: text.replace("\\", "\\\\").replace('"', '\\"') for key, text in values.items()}
    path.write_text("".join(f'{key}="{text}"\n' for key, text in quoted.items()), encoding="utf-8")


def ensure_secrets(runtime: Path, names: Iterable[str] = GENERATED_SECRETS) -> dict[str, str]:
    """Generate missing passwords once and keep them in the runtime folder's private `secrets.env`."""
    path = runtime / "secrets.env"
    existing = read_env_file(path)
    missing = [name for name in names if name not in existing]
    if path.exists():
        path.chmod(PRIVATE_FILE)  # whatever mode it was given since
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
    runtime = runtime_folder(runtime.expanduser().resolve())
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
