"""Security controls across every function, through the real handlers on moto (docs/ops/security.md):
identity only from the authorizer context, tokens only where the contract puts them, CORS by the
stage's allow-list, audit records after every audited change, and nothing secret in any log line or
error body of a full run. What the other test modules already prove (forged, expired, revoked and
retired-key tokens, code brute force, rate limits, cookie flags, size limits) is listed in the doc,
not repeated here."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from tests.conftest import (
    APP_ORIGIN,
    AUTH_SECRET_PARAM,
    EVENTS,
    LambdaContext,
    api_event,
    invoke,
    load_function,
)
from tests.integration.conftest import COMPLETE_DRAFT
from tests.integration.live_agents_support import API_KEY, UpstreamServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

KEY_PARAM = "/ciq/test/live-agents-key"
EMAIL = "Grace.Hopper@Example.com"
PHONE = "+14155550199"
SIGN_UP = {"firstName": "Grace", "lastName": "Hopper", "email": EMAIL, "company": "Navy", "phone": PHONE}
EVIL_ORIGIN = "https://evil.example"


# -- helpers ----------------------------------------------------------------------------------------


class Stack:
    """Every function of the template, called the way API Gateway calls them: protected routes go
    through the real authorizer first and get its context, and nothing else, as identity."""

    def __init__(self) -> None:
        self.auth = load_function("auth")
        self.authorizer = load_function("authorizer")
        self.user_data = load_function("user_data")
        self.setup_status = load_function("setup_status")
        self.live_agents = load_function("live_agents")
        self.answers: list[tuple[int, Any]] = []

    def modules(self) -> list[ModuleType]:
        return [self.auth, self.authorizer, self.user_data, self.setup_status, self.live_agents]

    def public(self, name: str, body: Any) -> tuple[int, dict[str, str], Any]:
        answer = invoke(self.auth, api_event(name, body=body))
        self.answers.append((answer[0], answer[2]))
        return answer

    def authorize(
        self, headers: dict[str, str], query: dict[str, str] | None = None
    ) -> dict[str, str] | None:
        """The authorizer's context for a request with these credentials; None when refused."""
        event: dict[str, Any] = json.loads((EVENTS / "authorizer-request.json").read_text())
        event["headers"] = {k: v for k, v in event["headers"].items() if k not in ("Cookie", "Authorization")}
        event["headers"].update(headers)
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
        try:
            policy = self.authorizer.lambda_handler(event, LambdaContext())
        except Exception as refused:
            assert str(refused) == "Unauthorized"
            return None
        return dict(policy["context"])

    def call(
        self,
        module: ModuleType,
        name: str,
        token: str,
        body: Any = None,
        *,
        method: str | None = None,
        path: str | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        context = self.authorize({"Authorization": f"Bearer {token}"})
        if context is None:
            self.answers.append((401, None))
            return 401, {}, None
        event = api_event(
            name,
            body=body,
            user_id=context["userId"],
            session_id=context["sessionId"],
            method=method,
            query=query,
        )
        for section in ("headers", "multiValueHeaders"):  # the samples' If-Match / Idempotency-Key
            for key in [k for k in event[section] if k in ("If-Match", "Idempotency-Key")]:
                del event[section][key]
        if path is not None:
            agent_id = path.rsplit("/", 1)[1]
            event["path"], event["resource"] = path, "/api/live-agents/{agentId}"
            event["requestContext"]["resourcePath"] = event["resource"]
            event["pathParameters"] = {"agentId": agent_id}
        answer = invoke(module, event)
        self.answers.append((answer[0], answer[2]))
        return answer

    def sign_up(self, **fields: str) -> str:
        _, _, started = self.public("auth-sign-up", {**SIGN_UP, **fields})
        status, _, opened = self.public(
            "auth-verify", {"challengeId": started["challengeId"], "code": "123456"}
        )
        assert status == 200, opened
        return str(opened["token"])

    def mutate(self, token: str, *mutations: dict[str, Any]) -> tuple[int, Any]:
        body: Any = mutations[0] if len(mutations) == 1 else {"mutations": list(mutations)}
        status, _, answer = self.call(self.user_data, "user-data-post", token, body)
        return status, answer

    def data(self, token: str, query: dict[str, str] | None = None) -> dict[str, Any]:
        status, _, answer = self.call(self.user_data, "user-data-get", token, query=query)
        assert status == 200, answer
        return dict(answer["data"])


@pytest.fixture
def stack(aws: None) -> Stack:
    return Stack()


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def captured(
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG (botocore's own wire dumps excepted: not ours, and they echo AWS
    answers whatever the code does), the functions' JSON lines written to this test's stdout
    (capsys's buffer of the moment, whatever pytest swaps around the test's phases)."""
    for module in stack.modules():
        module.logger.setLevel("DEBUG")
        monkeypatch.setattr(module.logger.registered_handler, "stream", _CurrentStdout())
    with (
        caplog.at_level(logging.INFO),
        caplog.at_level(logging.DEBUG, logger="ciq"),
        caplog.at_level(logging.DEBUG, logger="httpx"),
        caplog.at_level(logging.DEBUG, logger="httpcore"),
    ):
        yield caplog
    for module in stack.modules():
        module.logger.setLevel("INFO")


@pytest.fixture
def upstream(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[UpstreamServer]:
    from ciq.live_agents.client import reset_client
    from ciq.settings import reset_settings

    server = UpstreamServer()
    boto3.client("ssm").put_parameter(Name=KEY_PARAM, Type="SecureString", Value=API_KEY, Overwrite=True)
    monkeypatch.setenv("LIVE_AGENTS_API_URL", server.url)
    monkeypatch.setenv("LIVE_AGENTS_API_KEY_PARAM", KEY_PARAM)
    monkeypatch.setenv("LIVE_AGENTS_TIMEOUT_MS", "5000")
    reset_settings()
    reset_client()
    yield server
    server.close()
    reset_client()


def audit_records(out: str) -> list[dict[str, Any]]:
    records = []
    for line in out.splitlines():
        if line.startswith("{") and '"audit":true' in line:
            records.append(json.loads(line))
    return records


def outbox_codes() -> list[str]:
    import os
    from pathlib import Path

    path = Path(os.environ["LOCAL_OUTBOX_PATH"])
    return [json.loads(line)["code"] for line in path.read_text().splitlines()]


# -- a full run: audit records, and nothing secret logged or answered ---------------------------------


def test_a_full_run_logs_audit_records_and_never_a_secret(
    stack: Stack,
    upstream: UpstreamServer,
    captured: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ciq.settings import reset_settings

    monkeypatch.setenv("VERIFICATION_MODE", "random")
    reset_settings()
    # Given a user who signs up, first typing a wrong code
    _, _, started = stack.public("auth-sign-up", SIGN_UP)
    code = outbox_codes()[-1]
    wrong = "000000" if code != "000000" else "111111"
    assert stack.public("auth-verify", {"challengeId": started["challengeId"], "code": wrong})[0] == 400
    status, _, opened = stack.public("auth-verify", {"challengeId": started["challengeId"], "code": code})
    assert status == 200, opened
    token = opened["token"]
    user_id = opened["profile"]["userId"]
    # When they use every route: user-data writes (and refused ones), setup status, live agents
    stack.data(token)
    assert stack.mutate(token, {"type": "workspace.create", "id": "ws-audit", "name": "Audit"})[0] == 200
    trained = {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT}
    assert stack.mutate(token, trained)[0] == 200
    created = {"type": "connection.create", "id": "conn-web", "workspaceId": "ws-1", "family": "web-chat"}
    assert stack.mutate(token, created)[0] == 200
    assert stack.mutate(token, {"type": "connection.delete", "connectionId": "conn-web"})[0] == 200
    assert stack.mutate(token, {"type": "workspace.update", "workspaceId": "ws-nope", "name": "x"})[0] == 404
    assert stack.mutate(token, {"type": "workspace.create", "email": EMAIL})[0] == 422
    setup = stack.setup_status
    assert stack.call(setup, "setup-status-get", token)[0] == 200
    for mutation in (
        {"type": "selectChannelTypes", "channelTypes": ["web-chat"]},
        {"type": "addConnection", "family": "web-chat"},
        {"type": "completeOnboarding"},
    ):
        status, _, answer = stack.call(setup, "setup-status-patch", token, mutation)
        assert status == 200, answer
    live = stack.live_agents
    assert stack.call(live, "live-agents-list", token, method="GET")[0] == 200
    new_agent = {"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "Night"}
    assert stack.call(live, "live-agents-create", token, new_agent, method="POST")[0] == 201
    assert stack.call(live, "live-agents-create", token, {"name": "x" * 500}, method="POST")[0] == 422
    # And sign out, are refused with the old token, sign in again and mistype the code
    assert stack.call(stack.auth, "auth-sign-out", token)[0] == 204
    assert stack.call(stack.user_data, "user-data-get", token)[0] == 401
    _, _, again = stack.public("auth-sign-in", {"email": EMAIL.upper()})
    sign_in_code = outbox_codes()[-1]
    wrong = "000000" if sign_in_code != "000000" else "111111"
    assert stack.public("auth-verify", {"challengeId": again["challengeId"], "code": wrong})[0] == 400
    assert stack.public("auth-sign-in", {"email": "nobody@example.com"})[0] == 404

    printed = capsys.readouterr()
    everything = printed.out + printed.err + captured.text

    # Then the audit records are the audited changes, in order, with internal ids only
    records = audit_records(printed.out)
    session_id = records[1]["sessionId"]
    assert [(r["event"], r.get("entityId"), r.get("reason")) for r in records] == [
        ("auth.sign_in.failure", None, "invalid_code"),
        ("auth.sign_up.completed", None, None),
        ("auth.sign_in.success", None, None),
        ("workspace.created", "ws-audit", None),
        ("kb.updated", "kb-default-1", None),
        ("channel.connected", "conn-web", None),
        ("channel.disconnected", "conn-web", None),
        ("channel.connected", records[7].get("entityId"), None),
        ("onboarding.completed", None, None),
        ("auth.sign_out", None, None),
        ("auth.sign_in.failure", None, "invalid_code"),
        ("auth.sign_in.failure", None, "account_not_found"),
    ]
    assert str(records[7].get("entityId", "")).startswith("conn-")
    for record in records:
        if not record["event"].startswith("auth.sign_in.failure"):
            assert (record["userId"], record["sessionId"]) == (user_id, session_id), record
        assert record["level"] == "INFO" and record["message"] == f"audit {record['event']}"

    # And no log line or error body holds the email (in any case), the phone, the token or a part
    # of it, a verification code (the local outbox's own lines are its delivery), a signing key, the
    # pepper or the live-agents API key
    secret = json.loads(
        boto3.client("ssm").get_parameter(Name=AUTH_SECRET_PARAM, WithDecryption=True)["Parameter"]["Value"]
    )
    error_bodies = "\n".join(json.dumps(body) for status, body in stack.answers if status >= 400)
    haystack = "\n".join(line for line in everything.splitlines() if not line.startswith("[outbox] "))
    haystack += "\n" + error_bodies
    assert '"message":"session opened"' in haystack  # the capture saw the functions' lines
    forbidden = [token, *token.split(".")[1:], API_KEY, secret["pepper"], *secret["keys"].values()]
    for value in forbidden:
        assert value not in haystack
    lowered = haystack.lower()
    assert EMAIL.lower() not in lowered and "grace.hopper@" not in lowered
    assert PHONE not in haystack and PHONE[2:] not in haystack
    for value in (code, sign_in_code):
        assert not re.search(rf"(?<![0-9]){value}(?![0-9])", haystack), value


# -- identity only from the authorizer context -------------------------------------------------------


def test_another_users_ids_in_path_query_or_body_reach_only_the_callers_own_data(stack: Stack) -> None:
    # Given Alice with entities of her own, and Bob
    alice = stack.sign_up(email="alice@example.com")
    alice_id = stack.authorize({"Authorization": f"Bearer {alice}"})["userId"]  # type: ignore[index]
    owned = [
        {"type": "workspace.create", "id": "ws-alice", "name": "Alice"},
        {"type": "knowledgeBase.create", "id": "kb-alice", "workspaceId": "ws-alice", "name": "KB"},
        {"type": "connection.create", "id": "conn-alice", "workspaceId": "ws-alice", "family": "web-chat"},
        {
            "type": "agent.create",
            "id": "agent-alice",
            "workspaceId": "ws-alice",
            "knowledgeBaseId": "kb-alice",
        },
    ]
    owned[-1]["name"] = "A"
    assert stack.mutate(alice, *owned)[0] == 200
    before = stack.data(alice)
    bob = stack.sign_up(email="bob@example.com")

    # When Bob names Alice's entities in bodies and paths, Then each is 404 not_found (never 403)
    for mutation in (
        {"type": "workspace.update", "workspaceId": "ws-alice", "name": "Mine"},
        {"type": "workspace.delete", "workspaceId": "ws-alice"},
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-alice", "name": "Mine"},
        {"type": "connection.delete", "connectionId": "conn-alice"},
        {"type": "agent.delete", "agentId": "agent-alice"},
    ):
        status, answer = stack.mutate(bob, mutation)
        assert (status, answer["error"]["code"]) == (404, "not_found"), mutation
    status, _, answer = stack.call(
        stack.setup_status,
        "setup-status-patch",
        bob,
        {"type": "removeConnection", "connectionId": "conn-alice"},
    )
    assert (status, answer["error"]["code"]) == (404, "not_found")
    for method, name in (("PATCH", "live-agents-update"), ("DELETE", "live-agents-delete")):
        body = {"name": "Mine"} if method == "PATCH" else None
        status, _, answer = stack.call(
            stack.live_agents, name, bob, body, method=method, path="/api/live-agents/agent-alice"
        )
        assert (status, answer["error"]["code"]) == (404, "not_found"), method

    # And a user id in the query is ignored (user-data) or refused as an unknown parameter
    # (live-agents, whose query is validated); one in a body is refused as an unknown field
    assert "ws-alice" not in {w["id"] for w in stack.data(bob, query={"userId": alice_id})["workspaces"]}
    status, _, listed = stack.call(
        stack.live_agents, "live-agents-list", bob, method="GET", query={"userId": alice_id}
    )
    assert (status, listed["error"]["code"]) == (422, "validation_failed")
    status, _, listed = stack.call(
        stack.live_agents, "live-agents-list", bob, method="GET", query={"workspaceId": "ws-alice"}
    )
    assert status == 404 or (status == 200 and listed["agents"] == []), listed
    status, answer = stack.mutate(bob, {"type": "profile.update", "userId": alice_id, "firstName": "Eve"})
    assert (status, answer["error"]["code"]) == (422, "validation_failed")
    status, _, answer = stack.call(
        stack.user_data, "user-data-post-batch", bob, {"userId": alice_id, "mutations": []}
    )
    assert status == 422

    # And Alice's data is exactly as she left it
    assert stack.data(alice) == before


def test_protected_routes_take_no_identity_without_the_authorizer_context(stack: Stack) -> None:
    # Given a valid token, sent in the body and in the query but with no authorizer context
    token = stack.sign_up()
    cases = [
        (stack.user_data, "user-data-get", None),
        (stack.user_data, "user-data-post", {"type": "workspace.create", "name": "x", "token": token}),
        (stack.setup_status, "setup-status-get", None),
        (stack.live_agents, "live-agents-list", None),
        (stack.auth, "auth-session", None),
    ]
    for module, name, body in cases:
        event = api_event(name, body=body, query={"token": token, "userId": "u-1"})
        event["requestContext"].pop("authorizer", None)
        status, _, answer = invoke(module, event)
        # Then every one is 401: the handlers read identity from the authorizer context only
        assert (status, answer["error"]["code"]) == (401, "unauthorized"), name


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, {"token": "{t}"}),
        ({}, {"access_token": "{t}"}),
        ({"Authorization": "{t}"}, None),
        ({"Authorization": "Token {t}"}, None),
        ({"X-Auth-Token": "{t}"}, None),
        ({"Cookie": "session={t}"}, None),
        ({"Cookie": "ciq_session_x={t}"}, None),
    ],
    ids=[
        "query-token",
        "query-access-token",
        "no-scheme",
        "other-scheme",
        "other-header",
        "cookie-name",
        "cookie-prefix",
    ],
)
def test_a_valid_token_in_the_wrong_place_is_refused(
    stack: Stack, headers: dict[str, str], query: dict[str, str] | None
) -> None:
    token = stack.sign_up()
    assert stack.authorize({"Authorization": f"Bearer {token}"}) is not None  # the token itself is good
    fill = {k: v.replace("{t}", token) for k, v in headers.items()}
    assert (
        stack.authorize(fill, {k: v.replace("{t}", token) for k, v in (query or {}).items()} or None) is None
    )


# -- CORS ---------------------------------------------------------------------------------------------


ROUTES = [
    ("auth", "auth-sign-in", "/api/auth/sign-in"),
    ("user_data", "user-data-get", "/api/user-data"),
    ("setup_status", "setup-status-get", "/api/setup-status"),
    ("live_agents", "live-agents-list", "/api/live-agents"),
]


@pytest.mark.parametrize(("function", "name", "path"), ROUTES)
def test_cors_answers_only_the_allowed_origin_with_credentials_and_never_a_wildcard(
    stack: Stack, function: str, name: str, path: str
) -> None:
    module = getattr(stack, function)
    answers = {}
    for origin in (APP_ORIGIN, EVIL_ORIGIN, None):
        for method in ("OPTIONS", None):
            event = api_event(name, user_id="u-cors", method=method, body={"email": "x@example.com"})
            event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "origin"}
            if origin:
                event["headers"]["Origin"] = origin
            if method == "OPTIONS":
                event["requestContext"].pop("authorizer", None)  # preflights skip the authorizer
                event["headers"]["Access-Control-Request-Method"] = "GET"
            event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
            status, headers, _ = invoke(module, event)
            answers[origin, method] = (status, {k.lower(): v for k, v in headers.items()})
    # The allowed origin is echoed with credentials, on the preflight (no session needed) and the call
    for method in ("OPTIONS", None):
        status, headers = answers[APP_ORIGIN, method]
        assert headers["access-control-allow-origin"] == APP_ORIGIN
        assert headers["access-control-allow-credentials"] == "true"
        assert "origin" in headers["vary"].lower()
    assert answers[APP_ORIGIN, "OPTIONS"][0] in (200, 204)
    assert "If-Match" in answers[APP_ORIGIN, "OPTIONS"][1]["access-control-allow-headers"]
    # Another origin, or none, gets no CORS header at all; nothing ever answers "*"
    for origin in (EVIL_ORIGIN, None):
        for method in ("OPTIONS", None):
            assert not [h for h in answers[origin, method][1] if h.startswith("access-control-")], (
                origin,
                method,
            )
    assert all(h.get("access-control-allow-origin") != "*" for _, h in answers.values())


def test_a_wildcard_allow_list_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from ciq.settings import get_settings, reset_settings

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "*")
    reset_settings()
    with pytest.raises(Exception, match=r"\*"):
        get_settings()
