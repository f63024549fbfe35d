# SDL Canvas: `make run` serves the site, `make test` runs every check. Both install what
# they need first and reuse it the next time.
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: install run test test-db lint bench redis clean

install: $(VENV)/.synced
	$(BIN)/python manage.py migrate --noinput -v 0

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@command -v uv >/dev/null 2>&1 || test -x $(BIN)/uv || $(BIN)/pip install -q "uv>=0.5"
	$(UV) sync --frozen --quiet
	@touch $@

run: install
	$(BIN)/python manage.py setup_local
	@echo "SDL Canvas on http://127.0.0.1:$(PORT)/ (Ctrl+C stops it)"
	$(BIN)/daphne -b 127.0.0.1 -p $(PORT) sdl_site.asgi:application

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# The tests that exercise the database under concurrency, e.g. against PostgreSQL:
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make test-db
test-db: $(VENV)/.synced
	$(BIN)/pytest -m db_concurrency $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) data/test.sqlite3*
