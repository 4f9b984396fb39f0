# Everything the project needs is installed by `make` itself into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install browser nginx run test test-sqlite test-postgres lint bench bench-log bench-policy bench-delivery bench-xml bench-bulk demo clean

$(BIN)/.installed: pyproject.toml examples/adapter-example/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# The worked example of docs/adapters.md: a third party's adapter, installed as theirs is.
	$(BIN)/python -m pip install --quiet -e examples/adapter-example
	touch $@

install: $(BIN)/.installed

## Debian's Chromium for the browser test (tests/test_docs_browser.py); nothing downloads one.
browser:
	@test -x /usr/bin/chromium || { \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver; }

## Debian's nginx, the local stack's reverse proxy (gateway stack up; tests/test_stack.py).
nginx:
	@test -x /usr/sbin/nginx || { \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends nginx; }

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

test-sqlite: install browser nginx
	$(BIN)/python -m pytest -q

test-postgres: install browser nginx
	GATEWAY_TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q

## Lint, then the whole suite on SQLite and on PostgreSQL at once (one core each; the tests
## that need a fixed port take a lock): both run, both logs are printed (build/test-*.log), and
## it fails if either fails.
test: lint browser nginx
	@mkdir -p build; sqlite=0; postgres=0; \
	$(MAKE) --no-print-directory test-sqlite > build/test-sqlite.log 2>&1 & s=$$!; \
	$(MAKE) --no-print-directory test-postgres > build/test-postgres.log 2>&1 & p=$$!; \
	wait $$s || sqlite=$$?; wait $$p || postgres=$$?; \
	echo "== SQLite"; cat build/test-sqlite.log; echo "== PostgreSQL"; cat build/test-postgres.log; \
	verdict() { [ "$$1" = 0 ] && echo passed || echo FAILED; }; \
	echo "== SQLite: $$(verdict $$sqlite)   PostgreSQL ($(PG_URL)): $$(verdict $$postgres)"; \
	[ $$sqlite = 0 ] && [ $$postgres = 0 ]

bench: install
	$(BIN)/python -m bench.birth_flow

## The exchange log: sealing rate and proof time (SQLite and PostgreSQL), offline verification.
bench-log: install
	$(BIN)/python -m bench.log_append --entries 1000000
	$(BIN)/python -m bench.log_verify

## Delivery: deliveries/s of one worker next to bare POSTs; end-to-end exchanges/s, PostgreSQL
## with two API processes and two workers next to one SQLite process. Needs Redis (db 9).
bench-delivery: install
	$(BIN)/python -m bench.delivery

## The rule set: decisions/s at 10, 10,000 and 100,000 rules next to pycasbin; load time.
bench-policy: install
	$(BIN)/python -m bench.policy

## XML: validations/s of an immigration message (lxml, the hot path) next to xmlschema's.
bench-xml: install
	$(BIN)/python -m bench.xml_validation

## Bulk migration: 100,000 legacy rows through the whole road (killed midway and resumed),
## rows/s and peak memory next to the mapping rate of the same rows.
bench-bulk: install
	$(BIN)/python -m bench.bulk_import

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
