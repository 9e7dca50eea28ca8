# salesanalytics — two commands on a fresh machine with Python 3.11+:
#   make demo   generate the demo client, run every phase, write HTML reports under reports/
#   make test   ruff (lint + format), mypy and the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ACCOUNTS ?= 20000
SEED     ?= 42
DEMO_DIR ?= data/demo
REPORTS  ?= reports
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: demo test lint typecheck install lock clean-reports help

help:
	@echo "make demo   - create .venv, install, generate the demo client, run all phases into reports/"
	@echo "make test   - create .venv if needed (with dev extras), run ruff and the test suite"

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(DEMO_DIR)/export/truth.json: | $(STAMP)
	$(BIN)/salesanalytics demo-data --out $(DEMO_DIR)/export --accounts $(ACCOUNTS) --seed $(SEED)

$(DEMO_DIR)/project.yaml: | $(STAMP)
	$(BIN)/salesanalytics init $(DEMO_DIR) --source export --mapping salesforce --client "Digitalwerk Schweiz AG (demo)" --slug demo --reports $(REPORTS)

demo: $(STAMP) $(DEMO_DIR)/export/truth.json $(DEMO_DIR)/project.yaml
	$(BIN)/salesanalytics run --config $(DEMO_DIR)/project.yaml

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy: default checks on the package, strict on the analysis models (pyproject.toml [tool.mypy])
typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

# Record the versions of the tested stack (run after changing dependencies, then commit requirements.lock).
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^salesanalytics' > requirements.lock

clean-reports:
	rm -rf reports/*/
