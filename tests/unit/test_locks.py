"""The lock files agree with the requirements files, offline (`make lock-check` re-resolves them in
CI): every pinned requirement is in its lock at that version, every locked package has hashes, the
tests run the layer's versions, and every install reads a lock with --require-hashes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER_REQUIREMENTS = ROOT / "layers/shared/requirements.txt"
LAYER_LOCK = ROOT / "layers/shared/requirements.lock"
RUN_REQUIREMENTS = ROOT / "requirements-run.txt"
RUN_LOCK = ROOT / "requirements-run.lock"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
DEV_LOCK = ROOT / "requirements-dev.lock"
CHECKOV_REQUIREMENTS = ROOT / "scripts/checkov-requirements.txt"
CHECKOV_LOCK = ROOT / "scripts/checkov-requirements.lock"
SAM_REQUIREMENTS = ROOT / "scripts/sam-requirements.txt"
SAM_LOCK = ROOT / "scripts/sam-requirements.lock"
PAIRS = [
    (LAYER_REQUIREMENTS, LAYER_LOCK),
    (RUN_REQUIREMENTS, RUN_LOCK),
    (DEV_REQUIREMENTS, DEV_LOCK),
    (CHECKOV_REQUIREMENTS, CHECKOV_LOCK),
    (SAM_REQUIREMENTS, SAM_LOCK),
]
IDS = ["layer", "run", "dev", "checkov", "sam"]
_PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: Path) -> dict[str, str]:
    """`name==version` of a requirements file and the files it includes with -r."""
    found: dict[str, str] = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins(ROOT / line[3:].strip()))
        elif line:
            match = _PIN.match(line)
            assert match, f"{requirements.name}: {line!r} is not pinned with =="
            found[normalized(match.group(1))] = match.group(2)
    return found


def locked(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """Each locked package: (version, its sha256 hashes)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.read_text()):
        match = _PIN.match(block)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            key = normalized(match.group(1))
            if key in entries:  # one package, two versions under markers (universal lock)
                key = f"{key}@{match.group(2)}"
            entries[key] = (match.group(2), hashes)
    return entries


@pytest.mark.parametrize(("requirements", "lock"), PAIRS, ids=IDS)
def test_every_pinned_requirement_is_locked_at_its_version(requirements: Path, lock: Path) -> None:
    # Given a requirements file and its lock; Then each pin is in the lock at the same version
    entries = locked(lock)
    for name, version in pins(requirements).items():
        assert name in entries, f"{name} is pinned in {requirements.name} but not in {lock.name}: make lock"
        assert entries[name][0] == version, f"{name}: {version} pinned, {entries[name][0]} locked: make lock"


@pytest.mark.parametrize("lock", [lock for _, lock in PAIRS], ids=IDS)
def test_every_locked_package_has_hashes_and_the_header_says_how_it_was_made(lock: Path) -> None:
    entries = locked(lock)
    assert len(entries) > 10
    for name, (_, hashes) in entries.items():
        assert hashes, f"{lock.name}: {name} has no --hash"
    assert lock.read_text().startswith("# Locked from "), "regenerate with make lock"


def test_the_layer_is_locked_for_lambda_and_the_tests_run_its_versions() -> None:
    # Given both locks
    layer, dev = locked(LAYER_LOCK), locked(DEV_LOCK)
    # Then the layer's lock targets Lambda (arm64, Python 3.13) and holds no SDK (the runtime has it)
    assert "--python-platform aarch64-manylinux_2_28" in LAYER_LOCK.read_text().splitlines()[0]
    assert "--python-version 3.13" in LAYER_LOCK.read_text().splitlines()[0]
    assert not {"boto3", "botocore"} & set(layer)
    # And every layer package is in the local run's and the dev environment at the same version, and
    # every package of the local run in the dev environment (one .venv serves both)
    run = locked(RUN_LOCK)
    for name, (version, _) in [*layer.items(), *run.items()]:
        assert dev.get(name, ("absent",))[0] == version, f"{name}: {version} locked, dev {dev.get(name)}"
    for name, (version, _) in layer.items():
        assert run.get(name, ("absent",))[0] == version, f"{name}: layer {version}, run {run.get(name)}"


def test_every_install_reads_a_lock_with_require_hashes() -> None:
    setup = (ROOT / "scripts/setup_env.py").read_text()  # what `make run` and `make test` install with
    assert '"--require-hashes", "-r"' in setup
    assert "requirements-run.lock" in setup and "requirements-dev.lock" in setup
    layer_makefile = (ROOT / "layers/shared/Makefile").read_text()
    assert "--require-hashes" in layer_makefile and "requirements.lock" in layer_makefile
    assert "--no-deps" in layer_makefile
    template = (ROOT / "template.yaml").read_text()
    assert "BuildMethod: makefile" in template
    assert "--require-hashes -r \"$LOCK\"" in (ROOT / "scripts/checkov.sh").read_text()
    assert "--require-hashes -r \"$SAM_LOCK\"" in (ROOT / "scripts/sam.sh").read_text()
