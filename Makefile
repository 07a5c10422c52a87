# The two commands of the README: `make run` (the local API) and `make test` (the whole suite).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck template-lint unit build validate

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
	$(PY) -m mypy layers/shared/ciq functions local

template-lint: $(STAMP)
	$(VENV)/bin/cfn-lint template.yaml

unit: $(STAMP)
	$(PY) -m pytest

test: lint typecheck template-lint unit

# SAM CLI in its own venv (.venv-sam): `sam validate --lint`, and `sam build` with the built layer checked.
validate:
	@scripts/sam.sh validate

build:
	@scripts/sam.sh build
