# Wellspring: `make run` serves the API, `make test` runs the suite. Python 3.11+ and make only.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# A laptop unless said otherwise: the development SECRET_KEY is accepted. `make serve` (and
# gunicorn started any other way) is production and refuses it (api/config.py).
WELLSPRING_ENV ?= development
export HOST PORT WELLSPRING_ENV

.PHONY: run serve worker migrate seed-demo test lint format openapi publish-spec clients bench clean lock

# Installs the exact versions of requirements.lock (hash-checked), then the project itself
# without resolving anything; `pip check` catches a lock that lags pyproject.toml.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
	  echo "requirements.lock does not satisfy pyproject.toml: run 'make lock'" >&2; exit 1; }
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

## lock: re-resolve requirements.lock (runtime) and requirements-dev.lock (runtime + dev) from
## pyproject.toml with uv; pins already in the files are kept unless LOCK_ARGS=--upgrade
UV_REQUIREMENT ?= uv>=0.5,<1
LOCK_FLAGS := --quiet --universal --python-version 3.11 --generate-hashes $(LOCK_ARGS)
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet '$(UV_REQUIREMENT)'
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -c requirements.lock \
	  -o requirements-dev.lock

## run: install, migrate DATABASE_URL (default SQLite under instance/), serve on HOST:PORT,
## and deliver follow-ups and mail beside it (api/devserver.py supervises both)
run: migrate
	$(BIN)/python -m api.devserver

## serve: production-like: WEB_CONCURRENCY (default 2) gunicorn processes x GUNICORN_THREADS
## (default 4) on DATABASE_URL (PostgreSQL), a real SECRET_KEY required; see README
serve: export WELLSPRING_ENV = production
serve: export WEB_CONCURRENCY ?= 2
serve: export GUNICORN_THREADS ?= 4
serve: require-database-url migrate
	$(BIN)/gunicorn --config gunicorn.conf.py 'api:create_app()'

## worker: the delivery worker (follow-ups, mail) to run beside `make serve` (one or more)
worker: export WELLSPRING_ENV = production
worker: require-database-url $(VENV)/.installed
	$(BIN)/flask --app api deliver --loop --interval 5

.PHONY: require-database-url
require-database-url:
	@test -n "$$DATABASE_URL" || { echo "DATABASE_URL is not set (e.g. postgresql+psycopg://user@host/wellspring)" >&2; exit 2; }

## migrate: apply Alembic migrations to DATABASE_URL
migrate: $(VENV)/.installed
	$(BIN)/flask --app api migrate

## seed-demo: migrate, then create a demo event under way today and print how to see its stats
seed-demo: $(VENV)/.installed
	$(BIN)/flask --app api seed-demo

## test: install dev extras and run the whole suite (PostgreSQL too when TEST_DATABASE_URL is set)
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## openapi: regenerate the committed spec from the code
openapi: $(VENV)/.installed
	$(BIN)/flask --app api export-openapi openapi/openapi.json

## publish-spec: record the current spec as the published v1 contract (openapi/published/v1.json);
## refused while it would break something published (docs/versioning.md)
publish-spec: $(VENV)/.installed
	$(BIN)/flask --app api publish-spec

## clients: generate the Python and TypeScript clients and run the scenarios through them
clients: $(VENV)/.installed-dev
	bash clients/check.sh

## bench: the check-in load benchmark (SQLite and PostgreSQL; needs wrk: apt-get install wrk)
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/checkin_load.py $(BENCH_ARGS)

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
