"""Makes `.venv` hold what a command needs, saying what it does: `run` (the local run's packages
only) or `dev` (everything `make test` uses, the run's packages included). Standard library only;
run by the Python that scripts/find-python.sh picks.

Concurrent calls (`make run` and `make test` started together on a fresh clone) take turns on a lock
file, so one never sees the other's half-made venv. A stamp per environment records a hash of its
requirement files; nothing is installed while they are unchanged."""

from __future__ import annotations

import fcntl
import hashlib
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
REQUIREMENTS = {"run": ROOT / "requirements-run.txt", "dev": ROOT / "requirements-dev.txt"}
INCLUDES = {"dev": ("run",)}  # dev's requirements include run's: a dev venv serves `make run` too


def _files(requirements: Path) -> list[Path]:
    """The requirement file and every file it includes with `-r`, recursively."""
    found = [requirements]
    for line in requirements.read_text().splitlines():
        included = re.match(r"^\s*-r\s+(\S+)", line)
        if included:
            found += _files((requirements.parent / included.group(1)).resolve())
    return found


def _fingerprint(requirements: Path) -> str:
    digest = hashlib.sha256()
    for path in _files(requirements):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _python() -> Path:
    return VENV / "bin" / "python"


def _stamp(kind: str) -> Path:
    return VENV / f".installed-{kind}"


def _installed(kind: str) -> bool:
    stamp = _stamp(kind)
    fresh = stamp.exists() and stamp.read_text().strip() == _fingerprint(REQUIREMENTS[kind])
    return _python().exists() and (fresh or any(_installed(wider) for wider in _wider(kind)))


def _wider(kind: str) -> list[str]:
    return [wider for wider, narrower in INCLUDES.items() if kind in narrower]


def _say(text: str) -> None:
    print(f"[setup] {text}", file=sys.stderr, flush=True)


def ensure(kind: str) -> None:
    if _installed(kind):
        return
    with (ROOT / ".venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed(kind):  # made by whoever held the lock before us
            return
        started = time.monotonic()
        if not _python().exists():
            _say(f"creating {VENV.name} with Python {sys.version.split()[0]}")
            venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
        requirements = REQUIREMENTS[kind]
        _say(f"installing the {kind} packages from {requirements.name} into {VENV.name} (once; ~1 min warm)")
        command = [str(_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                   "-r", str(requirements)]  # fmt: skip
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:  # noqa: S603 - a fixed command
            _say(f"FAILED: pip install -r {requirements.name}")
            raise SystemExit(1)
        _stamp(kind).write_text(_fingerprint(requirements) + "\n")
        _say(f"{kind} packages ready in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in REQUIREMENTS:
        raise SystemExit(f"usage: {Path(__file__).name} {'|'.join(REQUIREMENTS)}")
    ensure(sys.argv[1])
