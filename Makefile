# Wellspring: `make run` serves the API, `make test` runs the suite. Python 3.11+ and make only.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export HOST PORT

.PHONY: run serve migrate seed-demo test lint format openapi clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## run: install, migrate DATABASE_URL (default SQLite under instance/), serve on HOST:PORT
run: migrate
	$(BIN)/gunicorn --config gunicorn.conf.py 'api:create_app()'

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
