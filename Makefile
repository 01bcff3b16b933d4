# The platform's commands; `make help` lists them.
PYTHON := .venv/bin/python

.PHONY: help up down status check docs lint test bootstrap

help: ## list the commands
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

up: bootstrap ## run the demo: PostgreSQL, the demo sources and data, Dagster on http://127.0.0.1:3000
	@$(PYTHON) -m demo up

down: ## stop every process the project started (by PID)
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m demo down; else echo "nothing to stop (no .venv)"; fi

status: ## show what runs where
	@$(PYTHON) -m demo status

check: bootstrap ## show the configuration (secrets masked) and try every configured service
	@$(PYTHON) -m domotic_ops check

docs: bootstrap ## build the dbt docs site against the warehouse and serve it on 127.0.0.1:8080 (DBT_DOCS_PORT)
	@$(PYTHON) -m domotic_ops dbt-docs

lint: bootstrap ## ruff (with import sorting), mypy on the platform packages, sqlfluff on the dbt project
	@.venv/bin/ruff check .
	@.venv/bin/mypy
	@.venv/bin/sqlfluff lint --disable-progress-bar --nocolor dbt_project

test: lint ## the linters, then the whole test suite against real services on loopback
	@$(PYTHON) -m pytest

bootstrap: ## install what is missing: system packages, .venv from uv.lock (the project editable), dbt parse
	@scripts/bootstrap.sh
