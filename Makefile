# checkout-edge — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PACKAGES := gateway origin shared

.PHONY: help install run test test-fast lint format typecheck migrate seed bench bench-gateway bench-checkout ci clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install pinned dependencies (constraints.txt)

run: $(STAMP) ## migrate, seed the demo catalog, start gateway + origin + Stripe stand-in (Ctrl-C stops all)
	$(PY) deploy/run_local.py

test: $(STAMP) ## the whole suite against local PostgreSQL and Redis
	$(PY) -m pytest

lint: $(STAMP) ## ruff check + ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(STAMP) ## mypy --strict on the packages
	$(VENV)/bin/mypy --strict $(PACKAGES) tests/stripe_sim deploy/front_door.py deploy/storefront_catalog.py

migrate: $(STAMP) ## upgrade DATABASE_URL (default var/origin.db) to the newest schema
	$(PY) -m origin migrate

seed: $(STAMP) ## seed deploy/demo-catalog.json (CATALOG=path to override)
	$(PY) -m origin seed --file $(or $(CATALOG),deploy/demo-catalog.json)

bench-gateway: $(STAMP) ## benchmark: origin alone vs gateway (Redis) vs nginx limit_req
	$(PY) -m tests.bench.gateway

bench-checkout: $(STAMP) ## benchmark: checkout sessions/s on PostgreSQL vs the raw SQL ceiling
	$(PY) -m tests.bench.checkout

bench: bench-gateway bench-checkout ## all benchmarks

ci: ## what CI runs (.ci/run)
	bash .ci/run

clean: ## remove .venv, var/ and caches
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
