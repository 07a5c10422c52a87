# The two commands of the README: `make run` (the local API) and `make test` (the whole suite).
# `make help` lists every target.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# .venv with the local run's packages only (run) or with every tool as well (dev); safe to start
# `make run` and `make test` together (scripts/setup_env.py takes turns on a lock).
SETUP = "$$(scripts/find-python.sh)" scripts/setup_env.py
# pytest workers: the suite is mostly waiting (HTTP, DynamoDB Local, subprocesses), so two per core.
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) * 2 )))

.PHONY: help run demo wipe dev-env test lint typecheck template-lint unit build validate smoke bench \
	bench-local stress openapi

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: ## the local API on http://localhost:4000, data kept in .local-state/ (docs/ops/local-run.md)
	@$(SETUP) run
	@$(PY) -m local

demo: ## the local API with the demo account seeded (demo@example.com, code 123456)
	@$(SETUP) run
	@$(PY) -m local --demo

wipe: ## delete the local run's kept data, sessions and secrets (.local-state/)
	@$(SETUP) run
	@$(PY) -m local --wipe

dev-env:
	@$(SETUP) dev

lint: dev-env
	$(PY) -m ruff check .

typecheck: dev-env
	$(PY) -m mypy layers/shared/ciq functions local bench scripts/setup_env.py

template-lint: dev-env
	$(VENV)/bin/cfn-lint template.yaml

unit: dev-env
	$(PY) -m pytest -n $(WORKERS)

test: lint typecheck template-lint unit ## lint, types, template lint and the whole suite (what CI runs)

# docs/api/openapi.json from template.yaml and the contract models (checked in; a test fails on drift).
openapi: dev-env ## docs/api/openapi.json from the template and the models
	$(PY) -m local.openapi

# SAM CLI in its own venv (.venv-sam): `sam validate --lint`, and `sam build` with the built layer checked.
validate: ## sam validate --lint
	@scripts/sam.sh validate

build: ## sam build, with the arm64 layer checked
	@scripts/sam.sh build

# Cold start, warm latency and DynamoDB capacity, measured side by side on this machine; rewrites the
# generated part of docs/performance.md (a few minutes). Never part of `make test`.
bench: dev-env ## cold start, latency and capacity figures into docs/performance.md
	$(PY) -m bench

# A larger concurrency stress over real HTTP on DynamoDB Local than the one `make test` runs (12 x 20);
# prints its figures (docs/ops/resilience.md). STRESS_CLIENTS / STRESS_REQUESTS choose the size.
STRESS_CLIENTS ?= 24
STRESS_REQUESTS ?= 40
stress: dev-env ## a larger HTTP concurrency stress on DynamoDB Local
	STRESS_CLIENTS=$(STRESS_CLIENTS) STRESS_REQUESTS=$(STRESS_REQUESTS) $(PY) -m pytest -s tests/dynamodb_local/test_stress_http.py

# The README walk-through against any stage, as a new user: `make smoke BASE=<url>` (default the
# local run). Standard library only, so no venv; fixed-code stages only unless SMOKE_CODE_MODE=ask
# (docs/ops/deploy.md, "Smoke test").
BASE ?= http://localhost:4000
smoke: ## the README walk-through against BASE (default the local run)
	@"$$(scripts/find-python.sh)" scripts/smoke.py --base "$(BASE)"

# The local run's scaling: typical POST/GET p50 and the run's RSS (engine included) after 0, 200 and
# 500 accounts, on DynamoDB Local and on moto (docs/performance.md, "Local run under load").
bench-local: dev-env ## the local run's latency and memory as accounts accumulate
	$(PY) -m bench.local_scaling
