# checkout-edge — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first of python3, python3.11 … python3.14 on PATH that runs and is 3.11 or later;
# override with PYTHON=/path/to/python.
PYTHON ?= $(shell for p in python3 python3.11 python3.12 python3.13 python3.14; do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
PYTHON := $(or $(PYTHON),python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PACKAGES := gateway origin checkout_edge_shared

.PHONY: help install run test test-fast lint format typecheck migrate seed bench bench-gateway bench-checkout api-docs ci clean

help: ## list the targets
	@if [ -t 1 ]; then on=$$'\033[36m'; off=$$'\033[0m'; else on=; off=; fi; \
	grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
	  | awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*?## "}; {printf "  %s%-16s%s %s\n", on, $$1, off, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need Python 3.11 or later on PATH (or PYTHON=/path/to/python)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "$(PYTHON) is $$($(PYTHON) -V 2>&1); checkout-edge needs Python 3.11 or later"; exit 1; }
	@test -x $(PY) || { echo "[install] creating $(VENV) with $$($(PYTHON) -V)"; $(PYTHON) -m venv $(VENV); }
	@echo "[install] upgrading pip"
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "[install] installing pinned dependencies from constraints.txt (about 30 s the first time)"
	@$(PY) -m pip install --quiet --progress-bar off -c constraints.txt -e '.[dev]'
	@echo "[install] done"
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install pinned dependencies (constraints.txt)

run: $(STAMP) ## migrate, seed the demo catalog, start gateway + origin + Stripe stand-in (Ctrl-C stops all)
	@$(PY) deploy/run_local.py

test: $(STAMP) ## the whole suite against local PostgreSQL and Redis
	$(PY) -m pytest

lint: $(STAMP) ## ruff check + ruff format --check + hadolint deploy/Dockerfile
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint deploy/Dockerfile

format: $(STAMP) ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(STAMP) ## mypy --strict on the packages
	$(VENV)/bin/mypy --strict $(PACKAGES) tests/stripe_sim deploy/front_door.py deploy/storefront_catalog.py deploy/run_local.py deploy/local_stack

migrate: $(STAMP) ## upgrade DATABASE_URL (default var/origin.db) to the newest schema
	$(PY) -m origin migrate

seed: $(STAMP) ## seed deploy/demo-catalog.json (CATALOG=path to override)
	$(PY) -m origin seed --file $(or $(CATALOG),deploy/demo-catalog.json)

bench-gateway: $(STAMP) ## benchmark: origin alone vs gateway (Redis) vs nginx limit_req
	$(PY) -m tests.bench.gateway

bench-checkout: $(STAMP) ## benchmark: checkouts/s and CPU per checkout vs the raw SQL ceiling (needs wrk)
	$(PY) -m tests.bench.checkout

bench: bench-gateway bench-checkout ## all benchmarks

api-docs: $(STAMP) ## rewrite docs/api/openapi.js (the offline page's copy of docs/openapi.yaml)
	$(PY) -m tests.support.api_page

ci: ## what CI runs (.ci/run)
	bash .ci/run

clean: ## remove .venv, var/ and caches
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
