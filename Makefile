# lagesbild — every command a person runs. `make help` lists them.
SHELL := /bin/bash
UV_VERSION := 0.13.9
# uv from PATH, else the one pip installs (`python3 -m uv` works without a shim rehash).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen --no-sync

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# `make run COUNTY=14`: another county's demo and publication, in its own data folder (data/county-14).
ifdef COUNTY
export LAGESBILD_COUNTY := $(COUNTY)
export LAGESBILD_DATA_DIR ?= $(CURDIR)/data/county-$(COUNTY)
endif
export LAGESBILD_DATA_DIR ?= $(CURDIR)/data
ROWS ?= 1000000
UI_PORT ?= 3000
SERVE_PORT ?= 8765
# pytest-xdist: one worker per core (`make test WORKERS=1` for one process); a test module, and every
# test reading the shared demo run, stay on one worker (groups set in tests/conftest.py).
WORKERS ?= auto
PARALLEL := -n $(WORKERS) --dist loadgroup

.PHONY: help install manifest demo run test coverage test-fast ui ui-check lint bench serve token reports-png alerts-status clean calibrate run-national

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## install uv (if missing) and the locked environment into .venv, compiled to bytecode
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	@# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set (as on our machines) every process
	@# (each dbt run, each Dagster run, each test worker) would otherwise compile dagster, dbt and pandas
	@# from source at import (docs/bench.md, "Fixed costs"). uv skips the work when nothing changed.
	@$(UV) sync --frozen --quiet --compile-bytecode
	@$(RUN) python -m compileall -q -j 0 lagesbild orchestration bench scripts tests >/dev/null
	@mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

manifest: install ## build the dbt manifest (at build time, never at import)
	@# Absolute paths: dagster-dbt reuses this parse from inside dbt_project/, and dbt stores seed paths
	@# relative to the project dir it was given (a relative one breaks seeds: "No files found").
	@$(RUN) lagesbild-dbt parse --quiet --project-dir $(CURDIR)/dbt_project --profiles-dir $(CURDIR)/dbt_project

demo: manifest ## generate the deterministic demo inputs under data/demo/inputs
	@$(RUN) python -m orchestration.run_demo --only-inputs

run: install ## check the configuration, generate the demo, materialise every asset, run every check, publish
	@$(RUN) python -m lagesbild.settings
	@echo "dbt parse (the manifest) ..."
	@$(MAKE) --no-print-directory manifest
	@$(RUN) python -m orchestration.run_demo

run-national: manifest ## one national ingest (county 00), then all 21 counties' publications from it (data/national)
	@LAGESBILD_DATA_DIR=$(CURDIR)/data/national $(RUN) python -m orchestration.run_counties

test: manifest ## run the whole test suite (slow end-to-end tests included), one worker per core
	@$(RUN) pytest $(PARALLEL)

coverage: manifest ## the whole test suite with line coverage of lagesbild/ and orchestration/
	@$(RUN) pytest $(PARALLEL) --cov --cov-report=term

test-fast: manifest ## the fast tests only
	@$(RUN) pytest $(PARALLEL) -m "not slow"

ui: manifest ## open the Dagster UI on http://127.0.0.1:3000 (another port: make ui PORT=3001)
	@$(RUN) dagster dev -w workspace.yaml -h 127.0.0.1 -p $(or $(PORT),$(UI_PORT))

serve: install ## serve publications to municipalities on http://127.0.0.1:8765 (make serve PORT=8766; tokens: make token MUNICIPALITY=0580)
	@$(RUN) lagesbild serve --publications $(LAGESBILD_DATA_DIR)/publications --tokens $(LAGESBILD_DATA_DIR)/pull_tokens.json --host 127.0.0.1 --port $(or $(PORT),$(SERVE_PORT))

token: install ## create a pull token for one municipality: make token MUNICIPALITY=0580 (printed once)
	@$(RUN) lagesbild token create --municipality $(MUNICIPALITY)

reports-png: install ## screenshot (and print to PDF) every report of the latest publication with headless Chromium
	@$(RUN) python scripts/render_reports.py $(LAGESBILD_DATA_DIR)/publications/$$(cat $(LAGESBILD_DATA_DIR)/publications/LATEST)/reports --out $(LAGESBILD_DATA_DIR)/reports-png --pdf

alerts-status: install ## where the restricted alerts are and how many (counts only)
	@$(RUN) lagesbild alerts status

ui-check: manifest ## start the UI on loopback, run the pipeline, check row counts, schemas and lineage in headless Chromium; screenshots/ (needs chromium)
	@$(RUN) python scripts/ui_check.py

bench: manifest ## benchmark pipeline vs baselines (DuckDB SQL, pandas) at ROWS snapshot rows (default 1M); JSON in bench/results/
	@$(RUN) python -m bench.run --rows $(ROWS)

calibrate: manifest ## score the hidden-population estimators (the mart's SQL) on simulated populations of known size, then the real pipeline on PIPELINE_SEEDS (3; 0 skips) simulated years
	@$(RUN) python -m lagesbild.calibration --replicates $(or $(REPLICATES),2000) --pipeline-seeds $(or $(PIPELINE_SEEDS),3)

lint: install ## ruff and sqlfluff
	@$(RUN) ruff check lagesbild orchestration tests bench scripts
	@$(RUN) sqlfluff lint dbt_project/models

clean: ## remove everything a run wrote (data/, Dagster home, dbt target)
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
