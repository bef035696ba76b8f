# Two entry points a newcomer needs: `make run` (the app on SQLite with an open wave, on
# 127.0.0.1:$(PORT)) and `make test` (the whole suite). Both install what they need into .venv
# first: `run` only the app's dependencies, `test` also the test extras.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# This year's wave, or the newest wave file there is when this year has none yet.
YEAR   ?= $(shell y=$$(date +%Y); if [ -f questionnaires/waves/$$y.yaml ]; then echo $$y; else ls questionnaires/waves/*.yaml 2>/dev/null | sed 's|.*/||; s|\.yaml||' | sort -n | tail -1; fi)
STAMP  := .make
PORT   ?= 5000

.PHONY: run test install install-test system-packages node-packages lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Two stamps: what running needs (the package and its dependencies) and the test extras on top,
# so `make run` never installs pytest, playwright or ruff.
$(STAMP)/install: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@mkdir -p $(STAMP) && touch $@

$(STAMP)/install-test: $(STAMP)/install
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(STAMP)/install
	@echo "Installed into $(VENV). Use the commands with '. $(VENV)/bin/activate' (then"
	@echo "'flask --app survey ...', 'survey-analysis ...', 'gunicorn ...'), or call them as"
	@echo "'$(BIN)/flask --app survey ...', '$(BIN)/survey-analysis ...'."

install-test: install $(STAMP)/install-test

# the test extras for the targets that need them (kept apart from their recipes' lines)
test lint: install-test

system-packages:
	bash scripts/install-system-packages.sh

# axe-core (package.json) for the accessibility tests; without npm those tests skip (fail under CI)
node-packages: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "note: npm not found; the accessibility tests that need axe-core will skip" >&2; fi

run: install
	$(BIN)/flask --app survey init-db
	$(BIN)/flask --app survey load-questionnaire questionnaires/waves/$(YEAR).yaml
	$(BIN)/flask --app survey open-wave $(YEAR)
	@# a demo organiser for the console (refused in a production configuration)
	$(BIN)/flask --app survey create-demo-account
	@echo "Sign in at http://127.0.0.1:$(PORT)/login with the password above."
	$(BIN)/flask --app survey run --host 127.0.0.1 --port $(PORT)

test: install system-packages node-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(STAMP) .pytest_cache node_modules
