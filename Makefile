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
	bench-local stress openapi lock lock-check deploy secret checkov client

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Lock files with hashes (scripts/lock.sh, uv in .venv-lock): `make lock` after editing a
# requirements file; `make lock-check` (CI) fails when a lock does not match its requirements.
lock: ## rewrite the lock files from the requirements files
	@scripts/lock.sh lock

lock-check: ## fail when a lock file does not match its requirements file
	@scripts/lock.sh check

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
# The TypeScript client's types follow (clients/typescript/src/schema.ts) once `make client` installed it.
openapi: dev-env ## docs/api/openapi.json (and the TypeScript client's types) from the template and models
	$(PY) -m local.openapi
	@if [ -d clients/typescript/node_modules ]; then cd clients/typescript && npm run --silent generate; \
	else echo "clients/typescript: run make client to regenerate src/schema.ts as well"; fi

# The TypeScript client (clients/typescript, docs/api/typescript-client.md): install, build with strict tsc,
# unit tests and type drift check, then the headless Chromium test against the local run. `make test`
# runs the same tests (tests/http/test_typescript_client.py).
client: dev-env ## the TypeScript client: install, strict build, unit tests, browser test
	cd clients/typescript && npm ci --no-audit --no-fund && npm run build && npm test && \
	CIQ_PYTHON="$(abspath $(PY))" npm run test:browser

# checkov over template.yaml; a finding not accepted (with why) in checkov-baseline.yaml fails.
checkov: ## checkov over template.yaml against checkov-baseline.yaml
	@scripts/checkov.sh

# SAM CLI in its own venv (.venv-sam): `sam validate --lint`, and `sam build` with the built layer checked.
validate: ## sam validate --lint
	@scripts/sam.sh validate

build: ## sam build, with the arm64 layer checked
	@scripts/sam.sh build

# Cold start, warm latency and DynamoDB capacity, measured side by side on this machine; rewrites the
# generated part of docs/performance.md (a few minutes). Never part of `make test`.
# BASELINE: the commit measured as "before" next to the working tree (default: bench/baseline.py's
# DEFAULT_BASELINE); BASELINE=none measures the working tree alone.
BASELINE ?=
bench: dev-env ## cold start, latency and capacity, before (BASELINE) and after, into docs/performance.md
	$(PY) -m bench $(if $(filter none,$(BASELINE)),--no-baseline,$(if $(BASELINE),--baseline $(BASELINE)))

# A larger concurrency stress over real HTTP on DynamoDB Local than the one `make test` runs (12 x 20);
# prints its figures (docs/ops/resilience.md). STRESS_CLIENTS / STRESS_REQUESTS choose the size.
STRESS_CLIENTS ?= 24
STRESS_REQUESTS ?= 40
stress: dev-env ## a larger HTTP concurrency stress on DynamoDB Local
	STRESS_CLIENTS=$(STRESS_CLIENTS) STRESS_REQUESTS=$(STRESS_REQUESTS) $(PY) -m pytest -s tests/dynamodb_local/test_stress_http.py

# Deploying a stage (docs/ops/deploy.md, the first-deploy checklist). STAGE is dev or prod and has
# no default. SAM CLI and boto3 from .venv-sam; AWS credentials of the target account.
#   make secret STAGE=dev [ACTION=rotate|retire]   the SSM auth secret: create, or rotate its keys
#   make deploy STAGE=dev                          preflight, build, sam deploy --config-env dev
deploy: ## build and deploy STAGE=dev|prod (docs/ops/deploy.md)
	@scripts/sam.sh deploy "$(STAGE)"

secret: ## create or rotate (ACTION=rotate|retire) the SSM auth secret of STAGE
	@scripts/sam.sh ops secret $(ACTION) --stage "$(STAGE)"

# The README walk-through against any stage, as a new user: `make smoke` (the local run),
# `make smoke STAGE=dev` (the stack's ApiUrl output) or `make smoke BASE=<url>`. The test itself is
# standard library only; fixed-code stages only unless SMOKE_CODE_MODE=ask (docs/ops/deploy.md).
BASE ?= http://localhost:4000
smoke: ## the README walk-through against the local run, STAGE=dev or BASE=<url>
	@base="$(BASE)"; if [ -n "$(STAGE)" ]; then base="$$(scripts/sam.sh ops api-url --stage "$(STAGE)")" || exit 1; fi; \
	"$$(scripts/find-python.sh)" scripts/smoke.py --base "$$base"

# The local run's scaling: typical POST/GET p50 and the run's RSS (engine included) after 0, 200 and
# 500 accounts, on DynamoDB Local and on moto (docs/performance.md, "Local run under load").
bench-local: dev-env ## the local run's latency and memory as accounts accumulate
	$(PY) -m bench.local_scaling
