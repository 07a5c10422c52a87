# The two commands of the README: `make run` (the local API) and `make test` (the whole suite).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck template-lint unit build validate smoke bench stress openapi client

$(STAMP): requirements-dev.txt layers/shared/requirements.txt
	@test -x $(PY) || "$$(scripts/find-python.sh)" -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)
	@$(PY) -m local

lint: $(STAMP)
	$(PY) -m ruff check .

typecheck: $(STAMP)
	$(PY) -m mypy layers/shared/ciq functions local bench

template-lint: $(STAMP)
	$(VENV)/bin/cfn-lint template.yaml

unit: $(STAMP)
	$(PY) -m pytest

test: lint typecheck template-lint unit

# docs/api/openapi.json from template.yaml and the contract models (checked in; a test fails on drift).
# The TypeScript client's types follow (clients/typescript/src/schema.ts) once `make client` installed it.
openapi: $(STAMP)
	$(PY) -m local.openapi
	@if [ -d clients/typescript/node_modules ]; then cd clients/typescript && npm run --silent generate; \
	else echo "clients/typescript: run make client to regenerate src/schema.ts as well"; fi

# The TypeScript client (clients/typescript, docs/api/typescript-client.md): install, build with strict tsc,
# unit tests and type drift check, then the headless Chromium test against the local run. `make test`
# runs the same tests (tests/http/test_typescript_client.py).
client: $(STAMP)
	cd clients/typescript && npm ci --no-audit --no-fund && npm run build && npm test && \
	CIQ_PYTHON="$(abspath $(PY))" npm run test:browser

# SAM CLI in its own venv (.venv-sam): `sam validate --lint`, and `sam build` with the built layer checked.
validate:
	@scripts/sam.sh validate

build:
	@scripts/sam.sh build

# Cold start, warm latency and DynamoDB capacity, measured side by side on this machine; rewrites the
# generated part of docs/performance.md (a few minutes). Never part of `make test`.
bench: $(STAMP)
	$(PY) -m bench

# A larger concurrency stress over real HTTP on DynamoDB Local than the one `make test` runs (12 x 20);
# prints its figures (docs/ops/resilience.md). STRESS_CLIENTS / STRESS_REQUESTS choose the size.
STRESS_CLIENTS ?= 24
STRESS_REQUESTS ?= 40
stress: $(STAMP)
	STRESS_CLIENTS=$(STRESS_CLIENTS) STRESS_REQUESTS=$(STRESS_REQUESTS) $(PY) -m pytest -s tests/dynamodb_local/test_stress_http.py

# The README walk-through against any stage, as a new user: `make smoke BASE=<url>` (default the
# local run). Standard library only, so no venv; fixed-code stages only unless SMOKE_CODE_MODE=ask
# (docs/ops/deploy.md, "Smoke test").
BASE ?= http://localhost:3000
smoke:
	@"$$(scripts/find-python.sh)" scripts/smoke.py --base "$(BASE)"
