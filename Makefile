# The two commands of the README: `make run` (the local API) and `make test` (the whole suite).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck template-lint unit build validate smoke bench stress openapi lock lock-check deploy secret checkov

# Installs requirements-dev.lock: every package at its locked version and hash (`make lock`).
$(STAMP): requirements-dev.lock
	@test -x $(PY) || "$$(scripts/find-python.sh)" -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@touch $(STAMP)

# Lock files with hashes (scripts/lock.sh, uv in .venv-lock): `make lock` after editing a
# requirements file; `make lock-check` (CI) fails when a lock does not match its requirements.
lock:
	@scripts/lock.sh lock

lock-check:
	@scripts/lock.sh check

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
openapi: $(STAMP)
	$(PY) -m local.openapi

# checkov over template.yaml; a finding not accepted (with why) in checkov-baseline.yaml fails.
checkov:
	@scripts/checkov.sh

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

# Deploying a stage (docs/ops/deploy.md, the first-deploy checklist). STAGE is dev or prod and has
# no default. SAM CLI and boto3 from .venv-sam; AWS credentials of the target account.
#   make secret STAGE=dev [ACTION=rotate|retire]   the SSM auth secret: create, or rotate its keys
#   make deploy STAGE=dev                          preflight, build, sam deploy --config-env dev
deploy:
	@scripts/sam.sh deploy "$(STAGE)"

secret:
	@scripts/sam.sh ops secret $(ACTION) --stage "$(STAGE)"

# The README walk-through against any stage, as a new user: `make smoke` (the local run),
# `make smoke STAGE=dev` (the stack's ApiUrl output) or `make smoke BASE=<url>`. The test itself is
# standard library only; fixed-code stages only unless SMOKE_CODE_MODE=ask (docs/ops/deploy.md).
BASE ?= http://localhost:4000
smoke:
	@base="$(BASE)"; if [ -n "$(STAGE)" ]; then base="$$(scripts/sam.sh ops api-url --stage "$(STAGE)")" || exit 1; fi; \
	"$$(scripts/find-python.sh)" scripts/smoke.py --base "$$base"
