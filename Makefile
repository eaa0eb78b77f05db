# OpenInfusion — `make run` to try it, `make test` to check it. `make help` lists the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_POSTGRES_URL ?= $(or $(OPENINFUSION_TEST_POSTGRES_URL),postgresql://postgres@127.0.0.1:5432/openinfusion)
PYTEST_ARGS ?=

.PHONY: help install run test lint test-sqlite test-postgres test-clock bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "OpenInfusion needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed ## create the virtual environment and install everything

run: install ## migrate, load the demo and serve on SQLite at http://$(HOST):$(PORT)/ with a background worker
	$(BIN)/openinfusion migrate
	$(BIN)/openinfusion demo
	@echo "Open http://$(HOST):$(PORT)/ and sign in with one of the demo logins above."
	@echo "A background worker runs beside the server (openinfusion worker); Ctrl-C stops both."
	$(BIN)/openinfusion worker & trap 'kill $$!' EXIT INT TERM; $(BIN)/openinfusion serve --host $(HOST) --port $(PORT)

test: install lint ## lint, then the whole suite on SQLite and on PostgreSQL (the two runs side by side)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

lint: install ## ruff, mypy (strict on the clinical core) and the missing-migration check
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	OPENINFUSION_DATA_DIR=$$(mktemp -d) $(BIN)/openinfusion manage makemigrations --check --dry-run

test-sqlite: install ## the whole suite, browser journeys included, on SQLite
	OPENINFUSION_DATABASE_URL= $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install ## the suite (without browser journeys) on PostgreSQL; required when CI=true
	@if $(BIN)/python tests/postgres_reachable.py "$(TEST_POSTGRES_URL)"; then \
		OPENINFUSION_DATABASE_URL="$(TEST_POSTGRES_URL)" $(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable at $(TEST_POSTGRES_URL) and CI=true: failing." >&2; exit 1; \
	else \
		echo "SKIPPED the PostgreSQL run: no server at $(TEST_POSTGRES_URL) (set OPENINFUSION_TEST_POSTGRES_URL)."; \
	fi

test-clock: install ## the site-calendar tests again at each hard instant of tests/clock.py, SQLite and PostgreSQL
	@for instant in $$($(BIN)/python -c 'from tests.clock import HARD_INSTANTS; print(*HARD_INSTANTS.values())'); do \
		echo "== site-calendar tests at $$instant"; \
		OPENINFUSION_TEST_NOW=$$instant $(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres \
			PYTEST_ARGS="-q -m 'site_calendar and not e2e' -p no:cacheprovider" || exit 1; \
	done

bench: install ## the benchmarks on fresh SQLite databases, figure beside baseline (docs/bench.md; the load bench takes ~10 min)
	OPENINFUSION_DATA_DIR=$$(mktemp -d) OPENINFUSION_DATABASE_URL= $(BIN)/openinfusion bench compounding
	OPENINFUSION_DATA_DIR=$$(mktemp -d) OPENINFUSION_DATABASE_URL= $(BIN)/openinfusion bench load

clean: ## remove the virtual environment and the local data directory
	rm -rf $(VENV) data
