#!/usr/bin/env bash
# Idempotent set-up: system packages (apt-get, when root), uv, and the virtual environment (.venv)
# installed from uv.lock with compiled bytecode. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
TOOLS=.runtime/tools

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "${DOMOTIC_PG_BINDIR:-}" ] || missing+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
command -v smbd >/dev/null 2>&1 || [ -x /usr/sbin/smbd ] || missing+=(samba)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # the UI's browser test

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "bootstrap: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages: ${missing[*]}" >&2
    echo "           install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

python=$(command -v python3.11 || command -v python3)
if ! "$python" -c "import sys; sys.exit(sys.version_info < (3, 11))"; then
  echo "bootstrap: Python 3.11 or newer is required (found $("$python" --version))" >&2
  exit 1
fi

if [ ! -x "$TOOLS/bin/uv" ] || [ "$("$TOOLS/bin/uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "bootstrap: installing uv $UV_VERSION into $TOOLS"
  "$python" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q "uv==$UV_VERSION" 2> >(grep -v "^WARNING: Location" >&2)
fi

# uv recompiles every module on each sync: sync only when uv.lock or pyproject.toml changed.
stamp=.venv/.domotic-lock
wanted=$(cat uv.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: installing the locked environment into .venv"
  UV_COMPILE_BYTECODE=1 UV_PYTHON="$python" "$TOOLS/bin/uv" sync --frozen --quiet
  echo "$wanted" > "$stamp"
fi

# Apache Superset (the dashboards) in an environment of its own, so that its pins never constrain the platform's.
superset_venv=.venv-superset
superset_stamp=$superset_venv/.domotic-lock
superset_wanted=$(sha256sum bi/requirements.lock | cut -d' ' -f1)
if [ ! -x "$superset_venv/bin/superset" ] || [ "$(cat "$superset_stamp" 2>/dev/null)" != "$superset_wanted" ]; then
  echo "bootstrap: installing Apache Superset into $superset_venv (bi/requirements.lock)"
  "$TOOLS/bin/uv" venv --quiet --allow-existing --python "$python" "$superset_venv"
  VIRTUAL_ENV="$superset_venv" UV_COMPILE_BYTECODE=1 "$TOOLS/bin/uv" pip sync --quiet --require-hashes bi/requirements.lock
  echo "$superset_wanted" > "$superset_stamp"
fi

# The dbt manifest the code location loads: parsed again only when the dbt project changed (no database needed).
dbt_stamp=dbt_project/target/.domotic-parsed
dbt_wanted=$(.venv/bin/python -m domotic_assets.gold.dbt_files dbt_project)  # the digest gold runs compare too
if [ ! -f dbt_project/target/manifest.json ] || [ "$(cat "$dbt_stamp" 2>/dev/null)" != "$dbt_wanted" ]; then
  echo "bootstrap: parsing the dbt project"
  .venv/bin/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project
  rm -f dbt_project/target/.parsed-for-database  # parsed without a connection (gold/project.py)
  echo "$dbt_wanted" > "$dbt_stamp"
fi
