# The two commands: `make run` and `make test`. Only Python 3.11+ is needed beforehand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app mentorship
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000
# Links in mail and calendar feeds point at the port the server listens on.
BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test test-sqlite test-postgres lint format chromium checkers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# One resolver pass for the app and the test extras (a clean clone installs once).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	MENTORSHIP_ENV=development $(FLASK) db upgrade
	MENTORSHIP_ENV=development $(FLASK) seed-demo
	@echo "The reminder scheduler runs beside the web server (emails go to the log without MAIL_SERVER)."
	BASE_URL=$(BASE_URL) MENTORSHIP_ENV=development $(FLASK) scheduler & \
	  trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	  BASE_URL=$(BASE_URL) MENTORSHIP_ENV=development $(FLASK) run --host $(HOST) --port $(PORT)

# Debian's Chromium drives the browser tests; Playwright never downloads a browser.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# The browser tests' other checkers, pinned in tests/browser/package.json: the Nu Html Checker
# (vnu.jar, run on Debian's Java) and IBM's Equal Access engine (ace.js). Install scripts stay
# off (vnu-jar's would fetch a Java of its own); nothing is downloaded while the tests run.
CHECKERS := tests/browser/node_modules/.installed
$(CHECKERS): tests/browser/package.json
	@command -v java >/dev/null && command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q default-jre-headless npm; }
	npm install --prefix tests/browser --no-package-lock --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

checkers: $(CHECKERS)

# The two databases' runs go side by side (one per core); each keeps its own log.
# The SQLite run lives a year ahead, so a test that depends on today's date fails now.
test: $(VENV)/.installed-test chromium $(CHECKERS) lint
	@echo "== whole suite on SQLite and on PostgreSQL ($(TEST_DATABASE_URL)), side by side =="
	@TEST_DATABASE_URL= TEST_CLOCK_SHIFT_DAYS=365 $(BIN)/pytest -q -p no:cacheprovider --durations=30 \
	    > test-sqlite.log 2>&1 & sqlite=$$!; \
	  TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -q -p no:cacheprovider --durations=30 \
	    > test-postgres.log 2>&1; postgres=$$?; wait $$sqlite; sqlite=$$?; \
	  for run in sqlite:$$sqlite postgres:$$postgres; do \
	    name=$${run%%:*}; status=$${run##*:}; echo "== $$name (exit $$status) =="; \
	    if [ $$status = 0 ]; then tail -n 4 test-$$name.log; else cat test-$$name.log; fi; \
	  done; \
	  test $$sqlite = 0 && test $$postgres = 0

test-sqlite: $(VENV)/.installed-test $(CHECKERS)
	TEST_DATABASE_URL= $(BIN)/pytest -q $(ARGS)

test-postgres: $(VENV)/.installed-test $(CHECKERS)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -q $(ARGS)

# The layers contract (pyproject's [tool.importlinter]) is checked with the style.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance .pytest_cache tests/browser/node_modules
