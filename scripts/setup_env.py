"""Makes `.venv` hold what a command needs, saying what it does: `run` (the local run's packages
only, requirements-run.lock) or `dev` (everything `make test` uses, requirements-dev.lock, which holds
the run's packages at the same versions). Installed with `--require-hashes` from the lock files
(scripts/lock.sh). Standard library only; run by the Python that scripts/find-python.sh picks.

Concurrent calls (`make run` and `make test` started together on a fresh clone) take turns on a lock
file, so one never sees the other's half-made venv. A stamp per environment records a hash of its
lock file; nothing is installed while it is unchanged."""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
LOCKS = {"run": ROOT / "requirements-run.lock", "dev": ROOT / "requirements-dev.lock"}
INCLUDES = {"dev": ("run",)}  # dev's lock holds run's versions: a dev venv serves `make run` too


def _fingerprint(lock: Path) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def _python() -> Path:
    return VENV / "bin" / "python"


def _stamp(kind: str) -> Path:
    return VENV / f".installed-{kind}"


def _installed(kind: str) -> bool:
    stamp = _stamp(kind)
    fresh = stamp.exists() and stamp.read_text().strip() == _fingerprint(LOCKS[kind])
    return _python().exists() and (fresh or any(_installed(wider) for wider in _wider(kind)))


def _wider(kind: str) -> list[str]:
    return [wider for wider, narrower in INCLUDES.items() if kind in narrower]


def _say(text: str) -> None:
    print(f"[setup] {text}", file=sys.stderr, flush=True)


def ensure(kind: str) -> None:
    if _installed(kind):
        return
    with (ROOT / ".venv.lock").open("w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        if _installed(kind):  # made by whoever held the lock before us
            return
        started = time.monotonic()
        if not _python().exists():
            _say(f"creating {VENV.name} with Python {sys.version.split()[0]}")
            venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
        lock = LOCKS[kind]
        _say(f"installing the {kind} packages from {lock.name} into {VENV.name} (once; ~20 s, caches warm)")
        command = [str(_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                   "--require-hashes", "-r", str(lock)]  # fmt: skip
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:  # noqa: S603 - a fixed command
            _say(f"FAILED: pip install --require-hashes -r {lock.name}")
            raise SystemExit(1)
        _stamp(kind).write_text(_fingerprint(lock) + "\n")
        _say(f"{kind} packages ready in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in LOCKS:
        raise SystemExit(f"usage: {Path(__file__).name} {'|'.join(LOCKS)}")
    ensure(sys.argv[1])
