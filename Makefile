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

.PHONY: install venv data browser build demo serve test test-fast lock benchmark clean

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
	DBT_TARGET_PATH=$(SERVE_DBT_TARGET_PATH) $(BIN)/python -m pipelines.build --if-missing
	$(MAKE) --no-print-directory serve

## serve: the two processes of Procfile under honcho: `dagster dev` (UI on DAGSTER_PORT, default
## 3000, with its daemon and code server) and Streamlit (STREAMLIT_PORT, default 8501). Ctrl-C or
## SIGTERM to make stops both: each gets SIGTERM once; what is still running SERVE_STOP_SECONDS
## later (honcho's own default, 5 s, is shorter than `dagster dev` needs to stop its code server
## on a busy machine) is killed with its whole process group.
## The served code location and `make demo`'s build use the dbt target folder
## SERVE_DBT_TARGET_PATH (relative to dbt_project/), so `make test` or `make build` next to a
## running demo never writes the manifest its runs read.
DAGSTER_PORT ?= 3000
STREAMLIT_PORT ?= 8501
SERVE_DBT_TARGET_PATH ?= target/serve
SERVE_STOP_SECONDS ?= 20
serve:
	DAGSTER_PORT=$(DAGSTER_PORT) STREAMLIT_PORT=$(STREAMLIT_PORT) DBT_TARGET_PATH=$(SERVE_DBT_TARGET_PATH) \
	  $(BIN)/python -c 'import sys, honcho.manager, honcho.command; honcho.manager.KILL_WAIT = $(SERVE_STOP_SECONDS); \
	  sys.argv[0] = "honcho"; honcho.command.main()' start -f Procfile

## test: install, then the whole test suite (what CI runs): both layers, on two processes
## (pytest-xdist; each shared warehouse is built once per session, see tests/conftest.py;
## --dist loadgroup keeps an xdist_group, such as the browser walk, on one worker)
## browser: the system Chromium the browser walk of the app drives (tests/test_browser_walk.py,
## Playwright with /usr/bin/chromium; Playwright's own browser download cannot work offline).
## Installs Debian's `chromium` with apt-get when it is missing and this user may; otherwise
## says why (the walk then skips, or fails under CI=true).
browser:
	@if { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; } && fc-list :lang=ko 2>/dev/null | grep -q .; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium and a Korean font (fonts-noto-cjk) for the browser walk (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk >/dev/null \
	  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk >/dev/null; }; \
	else echo "no Chromium and no root apt-get: tests/test_browser_walk.py will skip (fails under CI=true)"; fi

test: install data browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup

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
