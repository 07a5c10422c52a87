"""The TypeScript client's own tests (clients/typescript), run by `make test` like every other test:
its unit tests and type drift check (node's test runner), and its end-to-end test in headless
Chromium against the local run with the session cookie.

Needs node, npm and Chromium. Without them the tests are skipped on a developer machine and fail in
CI (`CI=true`), where a missing tool must not pass silently. The client's packages are installed
with `npm ci` (the npm registry) when node_modules is missing or older than package-lock.json."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from tests.http.conftest import LOOPBACK_ONLY

pytestmark = LOOPBACK_ONLY
ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "typescript"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
TIMEOUT_SECONDS = 600


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(what: str) -> NoReturn:
    message = f"{what} is not installed; the client's tests need it (docs/api/typescript-client.md)"
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        _missing(name)
    return found


def _chromium() -> str:
    path = os.environ.get("CHROMIUM", DEFAULT_CHROMIUM)
    if not Path(path).is_file():
        _missing(f"Chromium ({path})")
    return path


def _run(command: list[str], **extra_env: str) -> None:
    # The client's scripts need PATH (node) and HOME (npm's cache); nothing else of this process.
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    done = subprocess.run(
        command,
        cwd=CLIENT,
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def built_client() -> str:
    """node_modules installed (`npm ci`) when stale, and the client compiled with `tsc --strict`."""
    _tool("node")
    npm = _tool("npm")
    installed = CLIENT / "node_modules" / ".package-lock.json"
    lock = CLIENT / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        _run([npm, "ci", "--no-audit", "--no-fund"])
    _run([npm, "run", "--silent", "build"])
    return npm


def test_the_client_unit_tests_and_type_drift_check_pass(built_client: str) -> None:
    # Given the compiled client / When node's test runner runs its unit tests and the drift check
    # Then every one passes (the output is in the assertion message when one does not)
    _run([_tool("node"), "--test", "dist/test/"])


def test_the_client_works_in_headless_chromium_against_the_local_run(built_client: str) -> None:
    # Given Chromium and this repository's Python / When the browser test starts the local run and a
    # page on another localhost port that uses the client with the cookie / Then it passes
    chromium = _chromium()
    _run([_tool("node"), "--test", "dist/e2e/"], CIQ_PYTHON=sys.executable, CHROMIUM=chromium)
