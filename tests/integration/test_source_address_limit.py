"""Per-source-address limits on challenge issuance and verification (CONTRACT §11, issue 10 item 4;
docs/api/auth.md "Rate limits"): the address is API Gateway's `requestContext.identity.sourceIp`,
never a header the caller sets. Through the real auth handler on moto."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from ciq.auth import clock
from ciq.settings import reset_settings
from tests.conftest import api_event, invoke, load_function

if TYPE_CHECKING:
    from types import ModuleType

ATTACKER, VICTIM = "198.51.100.7", "203.0.113.99"
WINDOW_START = datetime(2026, 11, 28, 6, 0, 0, tzinfo=UTC)  # a 15-minute window starts here


@pytest.fixture
def app(aws: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(clock, "now", lambda: WINDOW_START.replace(minute=5))  # 10 min left
    return load_function("auth")


def _from(
    app: ModuleType, address: str, name: str, body: Any, **headers: str
) -> tuple[int, dict[str, str], Any]:
    event = api_event(name, body=body, headers=headers or None)
    event["requestContext"]["identity"]["sourceIp"] = address
    return invoke(app, event)


def _sign_up(email: str) -> dict[str, str]:
    return {"firstName": "A", "lastName": "B", "email": email, "company": "C", "phone": "+14155550100"}


def test_one_address_cannot_spend_a_victims_challenge_quota(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the production default: 3 challenges of one email per address per window
    monkeypatch.delenv("SOURCE_ADDRESS_EMAIL_CHALLENGE_LIMIT")
    reset_settings()
    # When one address asks for the victim's codes again and again
    answers = [_from(app, ATTACKER, "auth-sign-up", _sign_up("victim@example.com"))[0] for _ in range(6)]
    # Then it gets three, and is refused the rest with Retry-After until the window ends
    assert answers == [201, 201, 201, 429, 429, 429]
    status, headers, body = _from(app, ATTACKER, "auth-sign-up", _sign_up("victim@example.com"))
    assert (status, body["error"]["code"], headers["Retry-After"]) == (429, "rate_limited", "600")
    # And the victim, from their own address, still gets a code: the email's quota is not spent
    assert _from(app, VICTIM, "auth-sign-up", _sign_up("victim@example.com"))[0] == 201


def test_one_address_is_limited_across_sign_up_sign_in_and_verify(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a per-address limit of 6 requests per window
    monkeypatch.setenv("SOURCE_ADDRESS_AUTH_LIMIT", "6")
    reset_settings()
    # When one address mixes sign-ups, sign-ins and verifies of many emails
    answers = []
    for i in range(3):
        status, _, started = _from(app, ATTACKER, "auth-sign-up", _sign_up(f"many-{i}@example.com"))
        answers.append(status)
        answers.append(
            _from(app, ATTACKER, "auth-verify", {"challengeId": started["challengeId"], "code": "000000"})[0]
        )
    refused = [
        _from(app, ATTACKER, "auth-sign-in", {"email": "many-0@example.com"}),
        _from(
            app,
            ATTACKER,
            "auth-verify",
            {"challengeId": "Zk3nQ8vR1tY6wB9cE2fH5jL0mP4sU7xA", "code": "123456"},
        ),
        _from(app, ATTACKER, "auth-sign-up", _sign_up("fresh@example.com")),
    ]
    # Then the first six are served and every further one is 429 rate_limited with Retry-After
    assert answers == [201, 400, 201, 400, 201, 400]
    assert [(s, b["error"]["code"], h["Retry-After"]) for s, h, b in refused] == [
        (429, "rate_limited", "600")
    ] * 3
    # And another address is not affected
    assert _from(app, VICTIM, "auth-sign-up", _sign_up("fresh@example.com"))[0] == 201


def test_the_address_is_api_gateways_not_a_forwarded_header(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a per-address limit of 2, and a caller who varies X-Forwarded-For
    monkeypatch.setenv("SOURCE_ADDRESS_AUTH_LIMIT", "2")
    reset_settings()
    answers = [
        _from(
            app,
            ATTACKER,
            "auth-sign-up",
            _sign_up(f"xff-{i}@example.com"),
            **{"X-Forwarded-For": f"10.0.0.{i}"},
        )[0]
        for i in range(3)
    ]
    # Then the header changes nothing: the third request is refused
    assert answers == [201, 201, 429]


def test_the_window_resets(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_ADDRESS_AUTH_LIMIT", "1")
    reset_settings()
    assert _from(app, ATTACKER, "auth-sign-up", _sign_up("w1@example.com"))[0] == 201
    assert _from(app, ATTACKER, "auth-sign-up", _sign_up("w2@example.com"))[0] == 429
    monkeypatch.setattr(clock, "now", lambda: WINDOW_START.replace(minute=15))
    assert _from(app, ATTACKER, "auth-sign-up", _sign_up("w3@example.com"))[0] == 201
