"""`make smoke` (scripts/smoke.py) against the local API serving the real template and functions:
it passes on a healthy API, and fails (non-zero, naming the step) on a deviation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.http.conftest import LOOPBACK_ONLY

if TYPE_CHECKING:
    from tests.http.conftest import Throwaway

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scripts" / "smoke.py"

pytestmark = LOOPBACK_ONLY


def smoke(base: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SMOKE), "--base", base],
        env={"PATH": os.environ["PATH"], "NO_PROXY": "*", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_the_smoke_test_passes_against_the_local_api(real_api: Throwaway) -> None:
    # Given the local API (fixed codes); When the smoke test runs against it
    run = smoke(real_api.server.url)
    # Then every step passes
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok: 10 steps" in run.stdout
    assert "create a workspace" in run.stdout


def test_the_smoke_test_fails_on_a_deviation(real_api: Throwaway) -> None:
    # Given a code the stage does not accept (SMOKE_CODE_MODE=ask with a wrong SMOKE_CODE)
    run = smoke(
        real_api.server.url,
        SMOKE_CODE_MODE="ask",
        SMOKE_CODE="000000",
        SMOKE_EMAIL="smoke-{random}@smoke.test",
    )
    # Then it stops at the verify step with the answer, and exits 1
    assert run.returncode == 1, run.stdout
    assert "FAILED at step 2" in run.stderr
    assert "invalid_code" in run.stderr


def test_the_smoke_test_fails_when_nothing_answers(real_api: Throwaway) -> None:
    # Given a base URL where nothing listens (the local API's port, another path prefix answers 404)
    run = smoke(real_api.server.url + "/not-a-stage")
    # Then the first step already fails
    assert run.returncode == 1
    assert "FAILED at step 1" in run.stderr
    assert "expected HTTP 201, got 404" in run.stderr


def test_ask_mode_refuses_an_unreadable_mailbox() -> None:
    # Given ask mode with the default example.com address: the code would go nowhere
    run = smoke("http://127.0.0.1:9", SMOKE_CODE_MODE="ask")
    # Then it is a usage error before any request
    assert run.returncode == 2
    assert "SMOKE_EMAIL" in run.stderr
