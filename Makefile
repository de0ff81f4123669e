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
DEB_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 chromium poppler-utils
CATALOGUES := $(wildcard inclusive_day/translations/*/LC_MESSAGES/messages.po)

.PHONY: run test setup system-packages translations upgrade demo lint format messages clean

run: setup upgrade demo
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

setup: $(VENV)/.installed system-packages translations node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

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

%.mo: %.po
	$(BIN)/pybabel compile --statistics -i $< -o $@

upgrade:
	$(FLASK) db upgrade

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
