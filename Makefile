# Two commands matter: `make run` (the app with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AXE_VERSION := 4.14.1

.PHONY: install run test test-sqlite e2e e2e-baselines bench bench-slots bench-web bench-pages bench-console soak wrk lock clean

$(STAMP): pyproject.toml requirements.txt Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# axe-core, pinned, for the accessibility checks of the browser tests.
	if command -v npm >/dev/null; then npm install --silent --no-audit --no-fund --prefix $(VENV)/node axe-core@$(AXE_VERSION); fi
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/flask --app wizard migrate
	$(BIN)/flask --app wizard seed-demo
	$(BIN)/python -m wizard.dev.run

# The whole suite, each test on SQLite and on PostgreSQL (found or started by
# tests/conftest.py; under CI=true a missing PostgreSQL fails the run).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser suite alone (tests/browser/README.md). BASE_URL=http://host:port
# runs the journeys that need no database against a server already running.
e2e: install
	E2E_BASE_URL="$(BASE_URL)" $(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

# Accept the pages that differed from their baselines in the last `make e2e`
# (test-results/baselines/*.actual.png) as the new baselines: only after
# looking at each diff beside them (tests/browser/README.md, "Visual baselines").
e2e-baselines: install
	$(BIN)/python -m tests.browser.baselines accept

bench: install wrk
	$(BIN)/python -m tests.bench
	$(BIN)/python -m tests.bench console
	$(BIN)/python -m tests.bench web

# The console over two years of history against the demo's (tests/bench/console.py).
bench-console: install
	$(BIN)/python -m tests.bench console

# The web benchmark alone: gunicorn and wrk, a few minutes (tests/bench/web.py).
bench-web: install wrk
	$(BIN)/python -m tests.bench web

# wrk from Debian, installed when missing (as .ci/run does for Chromium).
wrk:
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

# Each page's time and statements in one process, no server (seconds;
# tests/bench/pages.py; `python -m tests.bench pages --profile PATH` profiles one).
bench-pages: install
	$(BIN)/python -m tests.bench pages

# Ten minutes of owners, staff, bookings and a moving QA clock against
# gunicorn, the worker and rq cron (tests/soak.py; SOAK_SECONDS to change).
soak: install
	$(BIN)/python -m tests.soak

# The free-slots benchmark alone (seconds, not minutes).
bench-slots: install
	$(BIN)/python -m tests.bench slots

# Re-lock the dependency tree after changing pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache
