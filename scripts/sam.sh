#!/usr/bin/env bash
# SAM CLI for this repo, used by the Makefile (docs/ops/deploy.md):
#   scripts/sam.sh validate          sam validate --lint                          (make validate)
#   scripts/sam.sh build             validate, sam build, check the built layer   (make build)
#   scripts/sam.sh deploy <stage>    preflight, build, sam deploy --config-env    (make deploy STAGE=)
#   scripts/sam.sh ops <args>        scripts/ops.py with the SAM CLI's boto3      (make secret / smoke)
#
# Why it looks like this (docs/ops/local-run.md, "SAM build"):
# * SAM CLI pins boto3/pydantic/click versions that clash with the app's, so it lives in its own
#   venv (.venv-sam), never in .venv.
# * `sam build` without a container looks for the runtime's interpreter (python3.13) on PATH; pyenv
#   shims do not provide it, so the interpreter found by scripts/find-python.sh goes first on PATH.
# * The layer targets arm64 (Metadata.BuildArchitecture): pip must fetch aarch64 wheels. A layer
#   with x86_64 pydantic_core would import-fail on Lambda, so the build is checked, not trusted.
# * Nothing here needs AWS credentials; `sam validate` only needs a region.
# * Bytecode is compiled into the build (docs/performance.md): Lambda's /var/task and /opt are
#   read-only, so a zip without .pyc compiles every module from source on every cold start.
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_LOCK="scripts/sam-requirements.lock" # aws-sam-cli==1.170.0 and its dependencies, with hashes
SAM_VENV=".venv-sam"
BUILD_DIR=".aws-sam/build"
LAYER_DIR="$BUILD_DIR/SharedLayer/python"
RUNTIME_VERSION="3.13" # template.yaml Globals.Function.Runtime (python3.13)

export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export SAM_CLI_TELEMETRY=0

log() { printf '[sam.sh] %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

runtime_python() {
  local python
  python="$(scripts/find-python.sh)"
  "$python" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '$RUNTIME_VERSION')" \
    || fail "sam build needs python$RUNTIME_VERSION (the Lambda runtime); scripts/find-python.sh found $python"
  echo "$python"
}

ensure_sam_cli() {
  local python="$1" start stamp
  stamp="$SAM_VENV/.installed-$(sha256sum "$SAM_LOCK" | cut -c1-12)"
  if [ -x "$SAM_VENV/bin/sam" ] && [ -f "$stamp" ]; then
    return
  fi
  start="$(now)"
  log "installing the SAM CLI into $SAM_VENV from $SAM_LOCK"
  rm -rf "$SAM_VENV"
  "$python" -m venv "$SAM_VENV"
  "$SAM_VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$SAM_LOCK"
  touch "$stamp"
  log "SAM CLI $("$SAM_VENV/bin/sam" --version | awk '{print $NF}') installed in $(elapsed "$start")"
}

sam_validate() {
  local start
  start="$(now)"
  "$SAM_VENV/bin/sam" validate --lint --template template.yaml
  log "sam validate --lint: ok in $(elapsed "$start")"
}

sam_build() {
  local python="$1" start
  start="$(now)"
  # The runtime interpreter first on PATH, so SAM's PythonPipBuilder finds python3.13 (the
  # functions); the layer's Makefile installs its lock with it (LAYER_PYTHON).
  PATH="$(dirname "$python"):$PATH" LAYER_PYTHON="$python" "$SAM_VENV/bin/sam" build --template template.yaml
  log "sam build: ok in $(elapsed "$start")"
}

# .pyc for every module of the layer and the functions, written by the runtime's interpreter: a .pyc
# is only read by the Python minor version that wrote it (cpython-313). `unchecked-hash`: the .pyc is
# used without comparing it to its source's mtime, which a zip keeps only to 2 s (a mismatch would
# mean compiling from source again, on every cold start); the built files never change after this.
compile_bytecode() {
  local python="$1" start
  start="$(now)"
  "$python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$BUILD_DIR" >/dev/null \
    || fail "python -m compileall $BUILD_DIR"
  log "bytecode: $(find "$BUILD_DIR" -name "*.cpython-${RUNTIME_VERSION/./}.pyc" | wc -l) .pyc files in $(elapsed "$start")"
}

check_bytecode() {
  local tag="cpython-${RUNTIME_VERSION/./}" app
  [ -f "$LAYER_DIR/ciq/__pycache__/__init__.$tag.pyc" ] || fail "no $tag bytecode for the layer's ciq package"
  [ -f "$LAYER_DIR/pydantic/__pycache__/main.$tag.pyc" ] || fail "no $tag bytecode for the layer's pydantic"
  for app in "$BUILD_DIR"/*/app.py; do
    [ -f "$(dirname "$app")/__pycache__/app.$tag.pyc" ] || fail "no $tag bytecode for $app"
  done
  if find "$BUILD_DIR" -name '*.pyc' ! -name "*.$tag.pyc" | grep -q .; then
    fail ".pyc of another Python in the build: $(find "$BUILD_DIR" -name '*.pyc' ! -name "*.$tag.pyc" | head -n 3)"
  fi
  log "bytecode ok: $tag for the layer and every function"
}

# The ELF header says which CPU a shared object is for: e_machine 183 is AArch64, 62 is x86-64.
elf_machine() {
  "$1" -c 'import sys, struct
data = open(sys.argv[1], "rb").read(20)
machine = struct.unpack("<H", data[18:20])[0]
print({183: "aarch64", 62: "x86_64"}.get(machine, f"e_machine={machine}"))' "$2"
}

check_layer() {
  local python="$1" core_so arch
  [ -d "$LAYER_DIR" ] || fail "$LAYER_DIR is missing: sam build did not build SharedLayer"
  core_so="$(find "$LAYER_DIR/pydantic_core" -maxdepth 1 -name '_pydantic_core.*aarch64*.so' | head -n 1)"
  [ -n "$core_so" ] || fail "no aarch64 _pydantic_core .so in $LAYER_DIR/pydantic_core (wrong wheel architecture)"
  arch="$(elf_machine "$python" "$core_so")"
  [ "$arch" = "aarch64" ] || fail "$core_so is built for $arch, not aarch64"
  if find "$LAYER_DIR" -name '*.so' -path '*x86_64*' | grep -q .; then
    fail "x86_64 shared objects in the arm64 layer: $(find "$LAYER_DIR" -name '*.so' -path '*x86_64*' | head -n 3)"
  fi
  # The Lambda runtime ships boto3/botocore; a copy in the layer would shadow it.
  for sdk in boto3 botocore; do
    [ ! -e "$LAYER_DIR/$sdk" ] || fail "$LAYER_DIR/$sdk is in the layer; the runtime's own SDK must be used"
  done
  # Only the runtime dependencies (layers/shared/requirements.txt): nothing of requirements-dev.txt.
  for dev in pytest _pytest moto hypothesis mypy ruff cfnlint yaml aws_xray_sdk; do
    [ ! -e "$LAYER_DIR/$dev" ] || fail "$LAYER_DIR/$dev is in the layer; it is a dev/test dependency"
  done
  log "layer ok: $(basename "$core_so") is ELF $arch; no boto3/botocore; no dev/test packages"
}

# The layer holds exactly the packages of layers/shared/requirements.lock, at the locked versions
# (pip checked every file's hash while installing them: layers/shared/Makefile).
check_layer_lock() {
  local python="$1"
  "$python" - "$LAYER_DIR" layers/shared/requirements.lock <<'PY' || fail "the built layer does not match layers/shared/requirements.lock"
import pathlib, re, sys
def norm(name): return re.sub(r"[-_.]+", "-", name).lower()
layer, lock = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text()
locked = {norm(n): v for n, v in re.findall(r"^([A-Za-z0-9._-]+)==([^\s;]+)", lock, re.M)}
built = {}
for info in layer.glob("*.dist-info"):
    meta = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
    name = re.search(r"^Name: (.+)$", meta, re.M).group(1).strip()
    built[norm(name)] = re.search(r"^Version: (.+)$", meta, re.M).group(1).strip()
if built != locked:
    extra = sorted(set(built.items()) - set(locked.items()))
    missing = sorted(set(locked.items()) - set(built.items()))
    sys.exit(f"in the layer, not locked: {extra}; locked, not in the layer: {missing}")
print(f"{len(built)} packages, as locked")
PY
}

# Measured on every build (docs/performance.md quotes it): unzipped size and files, with the .pyc.
report_layer_size() {
  log "layer size: $(du -sm "$LAYER_DIR" | cut -f1) MB ($(find "$LAYER_DIR" -type f | wc -l) files," \
    "$(find "$LAYER_DIR" -name '*.pyc' | wc -l) of them .pyc)"
}

build_checked() {
  local python="$1"
  sam_validate
  sam_build "$python"
  compile_bytecode "$python"
  check_layer "$python"
  log "layer lock: $(check_layer_lock "$python")"
  check_bytecode
  report_layer_size
}

# What the first deploy needs and CloudFormation cannot check (the SSM secret; SES for emailed
# codes) is checked first, then the very build that was checked is deployed. samconfig.toml pins
# the stage's region, stack, capabilities and parameters; the change set is shown for approval.
deploy() {
  local python="$1" stage="$2"
  [ -n "$stage" ] || fail "usage: make deploy STAGE=dev|prod (no default: say which stage)"
  "$SAM_VENV/bin/python" scripts/ops.py preflight --stage "$stage" || fail "preflight of $stage (above)"
  build_checked "$python"
  "$SAM_VENV/bin/sam" deploy --config-env "$stage" --template-file "$BUILD_DIR/template.yaml"
  log "deployed $stage; next: make smoke STAGE=$stage (docs/ops/deploy.md)"
}

main() {
  local command="${1:-build}" python
  python="$(runtime_python)"
  ensure_sam_cli "$python"
  case "$command" in
    validate) sam_validate ;;
    build) build_checked "$python" ;;
    deploy) deploy "$python" "${2:-}" ;;
    ops) shift; exec "$SAM_VENV/bin/python" scripts/ops.py "$@" ;;
    *) fail "usage: scripts/sam.sh validate|build|deploy <stage>|ops <args>" ;;
  esac
}

main "$@"
