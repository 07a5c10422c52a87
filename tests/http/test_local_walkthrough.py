"""A developer's first session against `python -m local`, over real HTTP with the real functions:
sign up, read the code from the outbox, verify, read the data with the cookie and with Bearer,
change it, read the change back."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.http.conftest import LOOPBACK_ONLY

if TYPE_CHECKING:
    import httpx

    from tests.http.conftest import Throwaway

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGH = re.compile(r"<!-- walkthrough -->\s*```bash\n(.*?)```", re.S)

pytestmark = LOOPBACK_ONLY


def code_from_outbox(outbox: Path, email: str) -> str:
    """The last code the auth function sent to this address (EMAIL_SENDER=outbox)."""
    records = [json.loads(line) for line in outbox.read_text().splitlines()]
    codes = [record["code"] for record in records if record["to"] == email]
    assert codes, f"no code for {email} in {outbox}"
    code: str = codes[-1]
    return code


def session_cookie(response: httpx.Response) -> str:
    cookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie["__Host-ciq_session"].value


def data_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_sign_up_verify_read_and_change_the_data(real_api: Throwaway) -> None:
    email = f"walk-{uuid.uuid4().hex[:8]}@example.com"
    with real_api.server.client() as client:
        # Given a new user who signs up
        signed_up = client.post(
            "/api/auth/sign-up",
            json={
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": email,
                "company": "AE",
                "phone": "+14155550100",
            },
        )
        assert signed_up.status_code == 201, signed_up.text
        challenge = signed_up.json()["challengeId"]

        # When they verify with the code the outbox received (and the local run printed)
        code = code_from_outbox(real_api.outbox, email)
        verified = client.post("/api/auth/verify", json={"challengeId": challenge, "code": code})
        assert verified.status_code == 200, verified.text
        token = verified.json()["token"]
        cookie = {"Cookie": f"__Host-ciq_session={session_cookie(verified)}"}
        bearer = {"Authorization": f"Bearer {token}"}

        # Then the session works as a cookie and as a Bearer token, on the same data
        by_cookie = data_of(client.get("/api/user-data", headers=cookie))
        by_bearer = data_of(client.get("/api/user-data", headers=bearer))
        assert by_cookie["data"]["profile"]["email"] == email
        assert by_bearer["data"] == by_cookie["data"]
        assert [w["id"] for w in by_cookie["data"]["workspaces"]] == ["ws-1"]

        # When they create a workspace
        mutated = data_of(
            client.post("/api/user-data", headers=bearer, json={"type": "workspace.create", "name": "Second"})
        )

        # Then a later read shows it, at a newer version
        after = data_of(client.get("/api/user-data", headers=cookie))
    assert [w["name"] for w in after["data"]["workspaces"]] == ["My Workspace", "Second"]
    assert after["version"] == mutated["version"] > by_cookie["version"]
    assert "[outbox] verification code for" in real_api.server.output()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README walk-through uses curl")
def test_the_readme_walkthrough_answers_as_written(real_api: Throwaway) -> None:
    # Given the README's walk-through, exactly as written, and its expected outputs (`# → value`)
    script = WALKTHROUGH.search((ROOT / "README.md").read_text())
    assert script, "README.md has no <!-- walkthrough --> bash block"
    expected = [line.split("# → ", 1)[1] for line in script.group(1).splitlines() if "# → " in line]
    assert len(expected) >= 3
    # When a developer runs it against the local API (a fresh email: the server outlives one test)
    text = script.group(1).replace("ada@example.com", f"ada-{uuid.uuid4().hex[:8]}@example.com")
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", text],
        env={"PATH": os.environ["PATH"], "BASE": real_api.server.url, "NO_PROXY": "*"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then every step succeeds and prints what the README says
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == expected
