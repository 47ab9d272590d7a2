# lagesbild — every command a person runs. `make help` lists them.
SHELL := /bin/bash
UV_VERSION := 0.13.9
# uv from PATH, else the one pip installs (`python3 -m uv` works without a shim rehash).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen --no-sync

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export LAGESBILD_DATA_DIR ?= $(CURDIR)/data

.PHONY: help install manifest demo run test test-fast ui lint bench serve clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## install uv (if missing) and the locked environment into .venv
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet
	@mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

manifest: install ## build the dbt manifest (at build time, never at import)
	@$(RUN) dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project

demo: manifest ## generate the deterministic demo inputs under data/demo/inputs
	@$(RUN) python -m orchestration.run_demo --only-inputs

run: manifest ## generate the demo, materialise every asset, run every check, publish
	@$(RUN) python -m orchestration.run_demo

test: manifest ## run the whole test suite (slow end-to-end tests included)
	@$(RUN) pytest

test-fast: manifest ## the fast tests only
	@$(RUN) pytest -m "not slow"

ui: manifest ## open the Dagster UI on http://127.0.0.1:3000
	@$(RUN) dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: install ## ruff and sqlfluff
	@$(RUN) ruff check lagesbild orchestration tests bench scripts
	@$(RUN) sqlfluff lint dbt_project/models

clean: ## remove everything a run wrote (data/, Dagster home, dbt target)
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
