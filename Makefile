# Everything the project needs is installed by `make` itself into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install run test test-sqlite test-postgres lint bench demo clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

## Start the gateway on the embedded default (SQLite in ./var) with demo systems.
run: install
	$(BIN)/gateway serve --demo

## Run the birth flow and a blocked attempt once, and say what happened.
demo: install
	$(BIN)/gateway demo

## Style, types, and the import contract (the arrows of the design; pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test-sqlite: install
	$(BIN)/python -m pytest -q

test-postgres: install
	GATEWAY_TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q

## Lint, then the whole suite on SQLite, then again on PostgreSQL.
test: lint test-sqlite test-postgres

bench: install
	$(BIN)/python -m bench.birth_flow

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
