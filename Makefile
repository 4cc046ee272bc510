# rivernotify: every target works on a fresh machine from nothing.
# `make run` starts the product on the embedded defaults; `make test` runs every test.

VENV    := .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
STAMP   := $(VENV)/.installed
UV_VER  := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install system-deps run test lint bench data clean

install: $(STAMP) node_modules/.installed

$(STAMP): pyproject.toml uv.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VER)
	@$(BIN)/uv sync --frozen --inexact --quiet
	@touch $(STAMP)

# Front-end libraries (Leaflet ...) from the npm registry, exactly as package-lock.json pins them.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || sh scripts/system-deps.sh npm
	@npm ci --silent --no-audit --no-fund
	@touch $@

# Debian packages the tests need (PostgreSQL server, Chromium, CJK fonts), installed only where missing.
system-deps:
	@sh scripts/system-deps.sh

run: install
	@$(BIN)/rivernotify db upgrade
	@$(BIN)/rivernotify run

test: install system-deps
	@$(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	@$(BIN)/ruff check basins notifier api tests bench scripts
	@$(BIN)/ruff format --check basins notifier api tests bench scripts
	@$(BIN)/mypy
	@$(BIN)/lint-imports

bench: install
	@$(PY) -m bench

# Rebuild data/ from ../shared/data (needs the reference data; not needed at run time).
data: install
	@$(PY) scripts/build_data.py

clean:
	rm -rf $(VENV) var/*.db var/*.db-*
