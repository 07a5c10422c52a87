#!/usr/bin/env bash
# Lock files with hashes for every package, transitive ones included (docs/ops/deploy.md,
# "Reproducible builds"):
#   scripts/lock.sh          rewrite both locks from their requirements files (`make lock`)
#   scripts/lock.sh check    fail if a lock does not match its requirements file (`make lock-check`, CI)
#
#   layers/shared/requirements.txt -> layers/shared/requirements.lock  for Lambda: aarch64, Python 3.13
#   requirements-run.txt           -> requirements-run.lock            the local run (`make run`): every
#                                     platform, Python >= 3.11, constrained by the layer's lock
#   requirements-dev.txt           -> requirements-dev.lock            everything `make test` uses, the
#                                     same way, constrained by the run's lock too (so a dev .venv
#                                     holds exactly the run's versions: scripts/setup_env.py)
#   scripts/checkov-requirements.txt -> scripts/checkov-requirements.lock   checkov's own venv (CI)
#   scripts/sam-requirements.txt   -> scripts/sam-requirements.lock    the SAM CLI's venv, Python 3.13
#
# uv resolves for a target platform (the layer's arm64 Lambda, whatever machine runs this); it lives
# in its own small venv (.venv-lock). An existing lock's versions are kept unless the requirements
# ask otherwise, so `check` needs no upgrade to pass, and a transitive bump is a deliberate
# `scripts/lock.sh` after deleting the lock line (or `UV_UPGRADE=1 scripts/lock.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.8"
LOCK_VENV=".venv-lock"
UV="$LOCK_VENV/bin/uv"
export UV_NO_CONFIG=1 UV_CACHE_DIR="${UV_CACHE_DIR:-.cache/uv}"

scratch=""
LOCKS=(layers/shared/requirements.lock requirements-run.lock requirements-dev.lock
  scripts/checkov-requirements.lock scripts/sam-requirements.lock)
log() { printf '[lock.sh] %s\n' "$*" >&2; }

ensure_uv() {
  if [ -x "$UV" ] && "$UV" --version 2>/dev/null | grep -q "uv $UV_VERSION"; then return; fi
  log "installing uv $UV_VERSION into $LOCK_VENV"
  "$(scripts/find-python.sh)" -m venv "$LOCK_VENV"
  "$LOCK_VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
}

# compile <requirements> <lock> [uv options...]
compile() {
  local requirements="$1" lock="$2"
  shift 2
  "$UV" pip compile --quiet --generate-hashes --no-header "$@" "$requirements" -o "$lock"
  # The header names the inputs and the command; no machine's path in it.
  { printf '# Locked from %s by `make lock` (scripts/lock.sh): uv %s, options: %s\n' \
      "$requirements" "$UV_VERSION" "$*"
    printf '# Install with: pip install --require-hashes -r %s\n' "$lock"
    cat "$lock"; } > "$lock.tmp" && mv "$lock.tmp" "$lock"
}

lock_all() {
  local layer_lock="$1" run_lock="$2" dev_lock="$3" checkov_lock="$4" sam_lock="$5" upgrade=()
  [ -n "${UV_UPGRADE:-}" ] && upgrade=(--upgrade)
  compile layers/shared/requirements.txt "$layer_lock" "${upgrade[@]}" \
    --python-version 3.13 --python-platform aarch64-manylinux_2_28
  compile requirements-run.txt "$run_lock" "${upgrade[@]}" \
    --universal --python-version 3.11 -c "$layer_lock"
  compile requirements-dev.txt "$dev_lock" "${upgrade[@]}" \
    --universal --python-version 3.11 -c "$layer_lock" -c "$run_lock"
  compile scripts/checkov-requirements.txt "$checkov_lock" "${upgrade[@]}" --universal --python-version 3.11
  compile scripts/sam-requirements.txt "$sam_lock" "${upgrade[@]}" --universal --python-version 3.13
}

main() {
  ensure_uv
  case "${1:-lock}" in
    lock)
      lock_all "${LOCKS[@]}"
      log "wrote ${LOCKS[*]}"
      ;;
    check)
      scratch="$(mktemp -d)"
      trap 'rm -rf "$scratch"' EXIT
      local lock failed=""
      for lock in "${LOCKS[@]}"; do
        mkdir -p "$scratch/$(dirname "$lock")"
        cp "$lock" "$scratch/$lock"
      done
      lock_all "${LOCKS[@]/#/$scratch/}"
      for lock in "${LOCKS[@]}"; do
        sed -i "s#$scratch/##g" "$scratch/$lock"
        diff -u "$lock" "$scratch/$lock" || failed=1
      done
      if [ -n "$failed" ]; then
        log "FAILED: a lock does not match its requirements file; run \`make lock\` and commit the locks"
        exit 1
      fi
      log "locks match their requirements files: ${LOCKS[*]}"
      ;;
    *) log "usage: scripts/lock.sh [lock|check]"; exit 2 ;;
  esac
}

main "$@"
