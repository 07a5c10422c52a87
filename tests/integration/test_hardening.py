"""Second-review hardening through the real handlers (issue 10, item 7; docs/ops/security.md):
no handler logs its event whatever POWERTOOLS_LOGGER_LOG_EVENT says, every answer carries
`nosniff`, HSTS and `no-store`, and the authorizer refuses a request with two session cookies."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any

import pytest

from local.events import with_body
from tests.conftest import EVENTS, LambdaContext, api_event, invoke, load_function
from tests.integration.conftest import create_user

if TYPE_CHECKING:
    from collections.abc import Iterator

FUNCTIONS = ["auth", "authorizer", "user_data", "setup_status", "live_agents"]
SECRET_TOKEN = "eyJzZWNyZXQiOiJ0b2tlbiJ9.ZG8tbm90LWxvZw.c2lnbmF0dXJlLW5ldmVyLWxvZ2dlZA"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cache-Control": "no-store",
}
# One request per function and outcome: successes, refusals and a 404 (sample event, changes).
ANSWERS: list[tuple[str, str, dict[str, Any]]] = [
    ("auth", "auth-sign-up", {}),
    ("auth", "auth-sign-in", {}),  # 404 account_not_found
    ("auth", "auth-verify", {}),  # 404 not_found
    ("auth", "auth-session", {"user": False}),  # 401
    ("auth", "auth-sign-out", {}),
    ("user_data", "user-data-get", {}),
    ("user_data", "user-data-post", {"raw_body": "{"}),  # 400
    ("setup_status", "setup-status-get", {}),
    ("live_agents", "live-agents-list", {}),
    ("live_agents", "live-agents-delete", {"method": "PUT"}),  # 405
]


@pytest.fixture
def user_id(aws: None) -> Iterator[str]:
    yield create_user()


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f != "authorizer"])
def test_no_handler_logs_its_event_even_when_the_environment_asks(
    user_id: str, function: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given POWERTOOLS_LOGGER_LOG_EVENT=true when the function is loaded (Powertools reads it then)
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    module = importlib.reload(load_function(function))
    sample = {
        "auth": "auth-session",
        "user_data": "user-data-get",
        "setup_status": "setup-status-get",
        "live_agents": "live-agents-list",
    }[function]
    event = api_event(
        sample,
        user_id=user_id,
        headers={"Cookie": f"__Host-ciq_session={SECRET_TOKEN}", "Authorization": f"Bearer {SECRET_TOKEN}"},
    )
    # When a request carrying a session token is handled
    invoke(module, event)
    # Then no log line holds the token (or any part of it)
    out = capfd.readouterr()
    for part in (SECRET_TOKEN, *SECRET_TOKEN.split(".")):
        assert part not in out.out + out.err


def test_the_authorizer_does_not_log_its_event_either(
    aws: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given the authorizer loaded with POWERTOOLS_LOGGER_LOG_EVENT=true
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    module = importlib.reload(load_function("authorizer"))
    event = json.loads((EVENTS / "authorizer-request.json").read_text())
    event["headers"]["Authorization"] = f"Bearer {SECRET_TOKEN}"
    # When it refuses the token; Then nothing of the token is logged
    with pytest.raises(Exception, match="Unauthorized"):
        module.lambda_handler(event, LambdaContext())
    out = capfd.readouterr()
    assert all(part not in out.out + out.err for part in SECRET_TOKEN.split("."))


@pytest.mark.parametrize(
    ("function", "sample", "changes"), ANSWERS, ids=[f"{a[1]}-{i}" for i, a in enumerate(ANSWERS)]
)
def test_every_answer_carries_nosniff_hsts_and_no_store(
    user_id: str, function: str, sample: str, changes: dict[str, Any]
) -> None:
    # Given a request to one of the functions (success or refusal)
    kwargs = {k: v for k, v in changes.items() if k != "user"}
    event = api_event(sample, user_id=user_id if changes.get("user", True) else None, **kwargs)
    if sample == "auth-sign-up":
        with_body(
            event,
            json.dumps(
                {
                    "firstName": "A",
                    "lastName": "B",
                    "email": "hsts@example.com",
                    "company": "C",
                    "phone": "+14155550100",
                }
            ),
        )
    # When it is answered
    status, headers, _ = invoke(load_function(function), event)
    # Then the answer carries the three security headers, whatever its status
    assert {k: headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS, (status, headers)


def test_a_preflight_carries_them_too(aws: None) -> None:
    event = api_event("user-data-options")
    status, headers, _ = invoke(load_function("user_data"), event)
    assert status == 204
    assert {k: headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS


def test_the_authorizer_refuses_a_request_with_two_session_cookies(aws: None) -> None:
    # Given a valid session token (a real sign-up), sent as the cookie twice over (once planted)
    from tests.integration.test_security import Stack

    stack = Stack()
    token = stack.sign_up(email="two-cookies@example.com")
    assert stack.authorize({"Cookie": f"__Host-ciq_session={token}"}) is not None
    # When the request carries two session cookies, with or without a Bearer header
    for headers in (
        {"Cookie": f"__Host-ciq_session={token}; __Host-ciq_session={token}"},
        {"Cookie": f"__Host-ciq_session=planted; __Host-ciq_session={token}"},
        {"Cookie": f"__Host-ciq_session={token}; __Host-ciq_session=x", "Authorization": f"Bearer {token}"},
    ):
        # Then the authorizer refuses it (API Gateway's 401)
        assert stack.authorize(headers) is None, headers
