#!/usr/bin/env bash
# checkov over template.yaml with the accepted findings of checkov-baseline.yaml (`make checkov`,
# CI): a finding not in the baseline fails, each baseline entry says why it is accepted
# (docs/ops/deploy.md, "Static proof"). checkov lives in .venv-checkov, installed from
# scripts/checkov-requirements.lock with its hashes; it downloads nothing at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=".venv-checkov"
LOCK="scripts/checkov-requirements.lock"
STAMP="$VENV/.installed-$(sha256sum "$LOCK" | cut -c1-12)"

log() { printf '[checkov.sh] %s\n' "$*" >&2; }

if [ ! -f "$STAMP" ]; then
  log "installing checkov into $VENV from $LOCK"
  rm -rf "$VENV"
  "$(scripts/find-python.sh)" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$LOCK"
  touch "$STAMP"
fi

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
# checkov exits 1 when anything fails; the gate below decides. --skip-download: no network.
"$VENV/bin/checkov" --file template.yaml --framework cloudformation --skip-download --compact --quiet \
  --output json > "$report" || true
"$VENV/bin/python" scripts/checkov_gate.py "$report" checkov-baseline.yaml
