# Dropline — the two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
# uv from PATH, or the one `make install` puts in ~/.local/bin (evaluated when used).
UV = $(or $(shell command -v uv 2>/dev/null),$(HOME)/.local/bin/uv)
export UV_LINK_MODE ?= copy

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: ## Install every dependency from uv.lock into .venv (installs uv itself if missing)
	@command -v uv >/dev/null 2>&1 || test -x $(HOME)/.local/bin/uv || $(PYTHON) -m pip install --quiet --user uv \
	  || $(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@$(UV) sync --frozen --quiet

run: install ## Start the whole system (broker, localstripe, stand-ins, 5 services, demo data)
	@$(UV) run python -m dropline_testsupport.devstack --data-dir var

demo: install ## Send a signed demo order to the running system and follow it to "synced"
	@$(UV) run python -m dropline_testsupport.demo --data-dir var

test: install ## All tiers: unit, integration (PostgreSQL + broker), e2e (every service a process)
	@$(UV) run pytest -q

test-unit: install ## Unit tests only (no services needed)
	@$(UV) run pytest -q -m "not integration and not e2e"

test-integration: install ## Integration tests (real PostgreSQL and broker)
	@$(UV) run pytest -q -m integration

test-e2e: install ## End-to-end tests (the whole system as processes)
	@$(UV) run pytest -q -m e2e

bench: install ## Drive N signed webhooks through the pipeline; prints figures as JSON on the last line
	@$(UV) run python bench/pipeline.py $(BENCH_ARGS)

schemas: install ## Refresh the JSON Schema snapshots after an additive contract change
	@$(UV) run python -m dropline_schemas.snapshot

migration: install ## New Alembic revision: make migration SERVICE=checkout MSG="add column"
	@test -n "$(SERVICE)" -a -n "$(MSG)" || (echo 'usage: make migration SERVICE=<service> MSG="<message>"'; exit 2)
	@$(UV) run python -m dropline_platform.revision services/$(SERVICE) "$(MSG)"

lint: install ## ruff
	@$(UV) run ruff check .

clean: ## Remove local data (SQLite files, logs, demo.json)
	rm -rf var

.PHONY: help install run demo test test-unit test-integration test-e2e bench schemas migration lint clean
