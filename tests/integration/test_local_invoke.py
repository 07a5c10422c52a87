"""`python -m local.invoke events/<name>.json`: one handler on one event, no Docker, no AWS (the
local run's embedded moto), as docs/ops/local-run.md shows it. Run as the developer runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import ROOT


def local_invoke(*arguments: str) -> tuple[int, Any, str]:
    done = subprocess.run(
        [sys.executable, "-m", "local.invoke", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, result, done.stderr


def test_a_sign_up_event_runs_the_auth_handler() -> None:
    # When the developer invokes the auth function on the sample sign-up event
    code, result, stderr = local_invoke("events/auth-sign-up.json")
    # Then the handler answered 201 with a challenge, and the code went to the outbox line on stderr
    assert code == 0, stderr
    assert result["statusCode"] == 201
    assert "challengeId" in json.loads(result["body"])
    assert "[outbox] verification code for j***@example.com" in stderr


def test_a_protected_event_runs_signed_in_and_its_base64_body_is_read() -> None:
    # When the user-data POST sample (a base64 body, as API Gateway sends it) is invoked signed in
    code, result, stderr = local_invoke("events/user-data-post.json", "--signed-in")
    # Then the mutation was applied for the new account: the workspace is in the answer
    assert code == 0, stderr
    assert result["statusCode"] == 200, result
    answer = json.loads(result.get("decodedBody") or result["body"])
    assert "Spring campaign" in [w["name"] for w in answer["data"]["workspaces"]]


def test_an_unknown_event_file_or_function_is_a_usage_error() -> None:
    assert local_invoke("events/no-such-event.json")[0] == 2
    code, _, stderr = local_invoke("events/auth-sign-up.json", "--function", "NoSuchFunction")
    assert code == 1 and "no function NoSuchFunction" in stderr
