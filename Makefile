# The platform's commands. `make up` runs the demo, `make test` proves it, `make down` stops it,
# `make check` tests the configured services.
PYTHON := .venv/bin/python

.PHONY: up down test status check lint bootstrap

bootstrap:
	@scripts/bootstrap.sh

up: bootstrap
	@$(PYTHON) -m demo up

down:
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m demo down; else echo "nothing to stop (no .venv)"; fi

status:
	@$(PYTHON) -m demo status

check: bootstrap
	@$(PYTHON) -m domotic_ops check

lint: bootstrap
	@.venv/bin/ruff check .

test: lint
	@$(PYTHON) -m pytest
