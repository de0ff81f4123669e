# The two commands: `make run` and `make test`. Everything else here is what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app inclusive_day
HOST ?= 127.0.0.1
PORT ?= 5000
# pytest-xdist workers, one per core, each taking whole test files (module fixtures, the
# reports tests' Redis database); on PostgreSQL each has its own database (<name>_gw<n>).
TEST_WORKERS ?= auto
# Chinese glyphs in PDFs (fonts-noto-cjk), fast font subsetting (libharfbuzz-subset0), the
# browser that the browser tests in tests/e2e drive (chromium; Playwright never downloads one)
# and pdftotext, with which the tests read the PDFs' text (poppler-utils).
DEB_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 chromium poppler-utils qpdf
CATALOGUES := $(wildcard inclusive_day/translations/*/LC_MESSAGES/messages.po)
# Exact versions with hashes: the app's for `make run`, the app's plus the tools' for `make test`.
# `make lock` writes both from pyproject.toml's ranges (keeping today's pins where they still
# fit); `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release in range.
APP_LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
LOCK_FLAGS ?=
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes $(LOCK_FLAGS)
# pyproject.toml's build requirements join each lock: the project is installed without build
# isolation, so the setuptools and Babel that build it are pinned like everything else.
BUILD_REQUIRES = $(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))'

.PHONY: run test setup setup-app system-packages translations upgrade demo lint format messages lock clean replica

run: setup-app upgrade demo
	@echo "Serving Inclusive Day on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# The browser tests (tests/e2e) serve the app on a database of their own, so they run once.
test: setup lint
	@echo "== on SQLite, with the browser tests"
	env -u TEST_DATABASE_URL $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL: $$TEST_DATABASE_URL (without the browser tests)"; \
	  $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --ignore=tests/e2e; \
	fi

setup: $(VENV)/.installed-dev system-packages translations node_modules/.installed

setup-app: $(VENV)/.installed-app system-packages translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The lock's exact versions (pip refuses any package without its pinned hash), then the project
# itself, editable, built by the setuptools the lock just installed.
$(VENV)/.installed-app: $(APP_LOCK) setup.py | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(APP_LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: $(DEV_LOCK) setup.py | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@ $(VENV)/.installed-app

lock: $(VENV)/.installed-dev
	$(BUILD_REQUIRES) | $(UV_COMPILE) --extra dev pyproject.toml - -o $(DEV_LOCK)
	$(BUILD_REQUIRES) | $(UV_COMPILE) -c $(DEV_LOCK) pyproject.toml - -o $(APP_LOCK)

system-packages:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "NOTE: install$$missing (or your system's Noto Sans CJK fonts, HarfBuzz subset library and Chromium): PDFs need them for Chinese text, the browser tests a Chromium."; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
	  echo "NOTE: PDFs and the browser tests need these Debian packages; please run: sudo apt-get install$$missing"; \
	fi

# axe-core, which the accessibility tests inject into pages, from npm (package-lock.json pins it).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
	  echo "NOTE: npm not found: the accessibility tests (axe-core from npm) will be skipped."; \
	fi

translations: $(CATALOGUES:.po=.mo)

$(CATALOGUES:.po=.mo): | $(VENV)/.installed-app

%.mo: %.po
	$(BIN)/pybabel compile --statistics -i $< -o $@

upgrade:
	$(FLASK) db upgrade

# A streaming replica of this machine's PostgreSQL on port 5433, for REPORTS_DATABASE_URL
# (as root, with PostgreSQL from Debian's packages; safe to run again).
replica:
	bash scripts/replica.sh

demo:
	$(FLASK) demo load --if-empty

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-extract the strings and merge them into the catalogues (then translate the new ones).
messages:
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o inclusive_day/translations/messages.pot .
	$(BIN)/pybabel update -i inclusive_day/translations/messages.pot -d inclusive_day/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache node_modules
