# Quick start: `make demo` (build if needed, then serve Dagster UI :3000 and Streamlit :8501)
# and `make test`. Everything installs into .venv from requirements.lock.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
INSTALLED := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/dagster_home
export PYTHONUNBUFFERED := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Local copy of the third-party data (data/manifest.toml): ../shared/data when that folder exists.
DATA_MIRROR ?= $(if $(wildcard ../shared/data/.),../shared/data,)

.PHONY: install venv data build demo serve test test-fast lock benchmark clean

## venv: create .venv, or recreate it when an interrupted install left it without a working pip
venv:
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { \
	  if [ -e $(VENV) ]; then echo "$(VENV) has no working pip (an interrupted install?): recreating it"; fi; \
	  $(PYTHON) -m venv --clear $(VENV); }

$(INSTALLED): pyproject.toml requirements.lock
	$(MAKE) --no-print-directory venv VENV=$(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(INSTALLED)

## data: materialise data/sample/ (git-ignored) from data/manifest.toml: each file hard-linked or
## copied from DATA_MIRROR, else downloaded or rebuilt from its public source; sha256-checked.
## Cheap when nothing changed (a stamp file). `python -m domain.datasets --verify` rehashes all.
# The venv's Python, after install: the materialiser is stdlib-only, but its download fallback
# (a clean machine without a mirror) needs httpx, which only the venv has.
data: install
	$(BIN)/python -m domain.datasets --target data/sample $(if $(DATA_MIRROR),--mirror "$(DATA_MIRROR)")

## build: install, then load the bundled data and build every model (non-interactive)
build: install data
	$(BIN)/python -m pipelines.build

## demo: build once if no snapshot exists, then serve the Dagster UI and the Streamlit app
demo: install data
	$(BIN)/python -m pipelines.build --if-missing
	$(MAKE) --no-print-directory serve

serve:
	trap 'kill 0' EXIT INT TERM; \
	$(BIN)/dagster dev -w workspace.yaml -h 0.0.0.0 -p 3000 & \
	$(BIN)/streamlit run dashboards/app.py --server.headless true --server.port 8501 & \
	wait

## test: install, then the whole test suite (what CI runs): both layers, on two processes
## (pytest-xdist; each shared warehouse is built once per session, see tests/conftest.py)
test: install data
	$(BIN)/python -m pytest -n 2

## test-fast: the unit layer only (no warehouse, no build, no Dagster run), one process
test-fast: install data
	$(BIN)/python -m pytest -m "not integration"

benchmark: install
	$(BIN)/python benchmarks/build_time.py
	$(BIN)/python benchmarks/indicators_vs_talib.py
	$(BIN)/python benchmarks/screener_latency.py
	$(BIN)/python benchmarks/portfolio_alerts.py

## lock: re-resolve requirements.lock from pyproject.toml
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python $(BIN)/python -o requirements.lock

clean:
	rm -rf data/warehouse*.duckdb* dbt_project/target dbt_project/logs
