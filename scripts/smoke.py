#!/usr/bin/env python3
"""Smoke test: the README walk-through (and a little more) against any base URL, as a new user.

    make smoke                                                 # the local run, http://localhost:4000
    make smoke STAGE=dev                                       # the dev stack's ApiUrl (fixed code)
    make smoke BASE=https://<api-id>.execute-api.<region>.amazonaws.com/dev
    SMOKE_CODE_MODE=ask SMOKE_EMAIL='ops+smoke-{random}@conversioniq.ai' make smoke BASE=<prod url>

Signs up a fresh email, verifies, reads the session and the data, creates a workspace, reads it
back with the cookie, reads the setup status and the agents, checks that a request without a session
is refused, signs out and checks the token is dead. Prints one line per step; exits 0 when every answer is the
expected one, 1 on the first deviation (with the request and the answer), 2 on a usage error.

The verification code: SMOKE_CODE_MODE=fixed (default) uses 123456, which only stages deployed with
VerificationMode=fixed accept (local, dev). SMOKE_CODE_MODE=ask takes the code from SMOKE_CODE, else
asks on the terminal; the code is emailed, so SMOKE_EMAIL must then be a mailbox you can read
(`{random}` in it is replaced by a random tag, e.g. plus-addressing). See docs/ops/deploy.md.

Only the Python standard library: it runs from any machine with python3, no venv needed."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

FIXED_CODE = "123456"
DEFAULT_EMAIL = "smoke-{random}@example.com"
TIMEOUT_SECONDS = 30


class Deviation(Exception):
    """An answer that is not the expected one."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: Any
    text: str


@dataclass
class Smoke:
    base: str
    email: str
    code_mode: str
    token: str = ""
    cookie: str = ""
    steps: int = field(default=0)

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return _answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return _answer(error.code, error.headers, error.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise Deviation(f"{method} {path}: no answer from {self.base} ({error})") from None

    def expect(self, answer: Answer, status: int, what: str) -> Any:
        if answer.status != status:
            raise Deviation(f"{what}: expected HTTP {status}, got {answer.status}: {answer.text[:500]}")
        return answer.body

    def step(self, title: str) -> None:
        self.steps += 1
        print(f"  {self.steps:2}. {title}", flush=True)

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def run(self) -> None:
        profile = {
            "firstName": "Smoke",
            "lastName": "Test",
            "email": self.email,
            "company": "ConversionIQ smoke test",
            "phone": "+14155550123",
        }
        self.step(f"sign up {self.email}")
        started = self.expect(self.call("POST", "/api/auth/sign-up", profile), 201, "POST /api/auth/sign-up")
        check(
            isinstance(started, dict) and started.get("challengeId"), "sign-up answers a challengeId", started
        )

        code = self.code()
        self.step("verify the code")
        answer = self.call("POST", "/api/auth/verify", {"challengeId": started["challengeId"], "code": code})
        opened = self.expect(answer, 200, "POST /api/auth/verify")
        self.token = opened.get("token", "")
        check(self.token, "verify answers a token", opened)
        check(opened.get("profile", {}).get("email") == self.email, "the profile has the email", opened)
        self.cookie = session_cookie(answer.cookies)
        check(
            self.cookie == self.token,
            "verify sets the __Host-ciq_session cookie to the token",
            answer.cookies,
        )

        self.step("read the session (Bearer)")
        session = self.expect(
            self.call("GET", "/api/auth/session", headers=self.bearer()), 200, "GET session"
        )
        check(session.get("profile", {}).get("email") == self.email, "the session is this user's", session)

        self.step("read the data: the defaults, created on first read")
        answer = self.call("GET", "/api/user-data", headers=self.bearer())
        first = self.expect(answer, 200, "GET /api/user-data")
        names = [w.get("name") for w in first.get("data", {}).get("workspaces", [])]
        check(names == ["My Workspace"], "a new account has one workspace, My Workspace", names)
        check(
            answer.headers.get("etag") == f'"{first.get("version")}"', "ETag is the version", answer.headers
        )

        self.step("create a workspace (If-Match the version just read)")
        create = {"type": "workspace.create", "name": "Spring campaign"}
        pinned = {**self.bearer(), "If-Match": f'"{first["version"]}"'}
        created = self.expect(self.call("POST", "/api/user-data", create, pinned), 200, "POST /api/user-data")
        check(created.get("version") == first["version"] + 1, "the write bumps the version by one", created)

        self.step("read it back with the session cookie")
        cookie = {"Cookie": f"__Host-ciq_session={self.cookie}"}
        after = self.expect(self.call("GET", "/api/user-data", headers=cookie), 200, "GET /api/user-data")
        names = [w.get("name") for w in after.get("data", {}).get("workspaces", [])]
        check(names == ["My Workspace", "Spring campaign"], "the new workspace is listed second", names)

        self.step("read the setup status (Get Started shows for a new account)")
        status = self.expect(self.call("GET", "/api/setup-status", headers=self.bearer()), 200, "GET setup")
        check(status.get("showGetStarted") is True, "showGetStarted is true", status)

        self.step("read the agents (live-agents; a degraded answer is reported, not a failure)")
        agents = self.expect(self.call("GET", "/api/live-agents", headers=self.bearer()), 200, "GET agents")
        ids = [a.get("id") for a in agents.get("agents", [])]
        check("agent-default-1" in ids, "the default agent is listed", agents)
        check(agents.get("source") in ("live", "store"), "source is live or store", agents)
        print(
            f"      source: {agents.get('source')}, degraded: {json.dumps(agents.get('degraded'))}",
            flush=True,
        )

        self.step("a request without a session is refused")
        refused = self.expect(self.call("GET", "/api/user-data"), 401, "GET /api/user-data without a session")
        check(error_code(refused) == "unauthorized", "the 401 has the error shape", refused)

        self.step("sign out; the token is refused from then on")
        self.expect(self.call("POST", "/api/auth/sign-out", headers=self.bearer()), 204, "POST sign-out")
        gone = self.expect(self.call("GET", "/api/auth/session", headers=self.bearer()), 401, "GET session")
        check(error_code(gone) == "unauthorized", "the 401 has the error shape", gone)

    def code(self) -> str:
        if self.code_mode == "fixed":
            return FIXED_CODE
        code = os.environ.get("SMOKE_CODE", "").strip()
        if code:
            return code
        if not sys.stdin.isatty():
            raise Deviation("SMOKE_CODE_MODE=ask: set SMOKE_CODE, or run on a terminal to type the code")
        return input(f"  code emailed to {self.email}: ").strip()


def _answer(status: int, headers: Any, raw: bytes) -> Answer:
    text = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    lowered = {name.lower(): value for name, value in headers.items()}
    return Answer(status, lowered, headers.get_all("Set-Cookie") or [], body, text)


def check(condition: Any, what: str, got: Any) -> None:
    if not condition:
        raise Deviation(f"expected: {what}; got: {json.dumps(got, default=str)[:500]}")


def session_cookie(headers: list[str]) -> str:
    jar: SimpleCookie = SimpleCookie()
    for header in headers:
        jar.load(header)
    return jar["__Host-ciq_session"].value if "__Host-ciq_session" in jar else ""


def error_code(body: Any) -> Any:
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--base", default=os.environ.get("BASE", "http://localhost:4000"), help="API base URL"
    )
    parser.add_argument(
        "--code-mode",
        choices=("fixed", "ask"),
        default=os.environ.get("SMOKE_CODE_MODE", "fixed"),
        help="fixed: 123456 (fixed-code stages); ask: SMOKE_CODE or a prompt",
    )
    args = parser.parse_args(argv)
    pattern = os.environ.get("SMOKE_EMAIL", DEFAULT_EMAIL)
    if "{random}" not in pattern:
        parser.error("SMOKE_EMAIL must contain {random}: every run signs up a new account")
    email = pattern.replace("{random}", secrets.token_hex(4))
    if args.code_mode == "ask" and email.endswith("@example.com"):
        parser.error("SMOKE_CODE_MODE=ask emails a real code: set SMOKE_EMAIL to a mailbox you can read")
    smoke = Smoke(base=args.base.rstrip("/"), email=email, code_mode=args.code_mode)
    print(f"smoke test of {smoke.base} ({args.code_mode} code)", flush=True)
    started = time.monotonic()
    try:
        smoke.run()
    except Deviation as deviation:
        print(f"FAILED at step {smoke.steps}: {deviation}", file=sys.stderr)
        return 1
    print(f"ok: {smoke.steps} steps in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
