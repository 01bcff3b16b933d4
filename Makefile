# The platform's commands. `make up` runs it, `make test` proves it, `make down` stops it.
PYTHON := .venv/bin/python

.PHONY: up down test status bootstrap

bootstrap:
	@scripts/bootstrap.sh

up: bootstrap
	@$(PYTHON) -m demo up

down:
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m demo down; else echo "nothing to stop (no .venv)"; fi

status:
	@$(PYTHON) -m demo status

test: bootstrap
	@$(PYTHON) -m pytest
