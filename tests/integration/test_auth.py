"""/api/auth/* through the real handler, with real API Gateway events (events/auth-*.json), moto's
DynamoDB and SSM, and the local outbox as the mailbox. Time is moved with `ciq.auth.clock`."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import pytest

from ciq.auth import clock
from ciq.settings import MisconfiguredError, Settings, get_settings, reset_settings
from local.events import with_body
from tests.conftest import (
    AUTH_SECRET_PARAM,
    EVENTS,
    ROOT,
    TABLE_NAME,
    LambdaContext,
    api_event,
    invoke,
    load_function,
)

if TYPE_CHECKING:
    from types import ModuleType

SIGN_UP = {
    "firstName": "Jane",
    "lastName": "Doe",
    "email": "jane.doe@example.com",
    "company": "Acme Coffee",
    "phone": "+14155550123",
}
COOKIE_ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Lax"


# -- helpers ----------------------------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand (patched into `ciq.auth.clock.now`)."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


@pytest.fixture
def app(aws: None) -> ModuleType:
    return load_function("auth")


@pytest.fixture
def random_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFICATION_MODE", "random")
    reset_settings()


def call(app: ModuleType, name: str, body: Any = None, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    return invoke(app, api_event(name, body=body, **kwargs))


def outbox() -> list[dict[str, str]]:
    path = Path(os.environ["LOCAL_OUTBOX_PATH"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def last_code() -> str:
    return outbox()[-1]["code"]


def start_sign_up(app: ModuleType, **fields: str) -> str:
    status, _, body = call(app, "auth-sign-up", {**SIGN_UP, **fields})
    assert status == 201, body
    return str(body["challengeId"])


def verify(app: ModuleType, challenge_id: str, code: str) -> tuple[int, dict[str, str], Any]:
    return call(app, "auth-verify", {"challengeId": challenge_id, "code": code})


def signed_up(app: ModuleType, **fields: str) -> dict[str, Any]:
    """A verified new account: the verify body (token, expiresAt, profile)."""
    challenge_id = start_sign_up(app, **fields)
    status, _, body = verify(app, challenge_id, last_code())
    assert status == 200, body
    return dict(body)


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def session_event(name: str, token: str) -> dict[str, Any]:
    """A protected-route event as API Gateway forwards it after the authorizer allowed `token`."""
    claim = claims(token)
    return api_event(
        name, user_id=claim["sub"], session_id=claim["sid"], headers={"Cookie": f"__Host-ciq_session={token}"}
    )


def authorizer_event(headers: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "authorizer-request.json").read_text())
    event["headers"] = {k: v for k, v in event["headers"].items() if k not in ("Cookie", "Authorization")}
    event["headers"].update(headers)
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return event


def error_code(body: Any) -> str:
    return str(body["error"]["code"])


def table_keys() -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    return sorted(f"{item['pk']['S']}|{item['sk']['S']}" for item in items)


# -- sign-up, verify, cookie and token --------------------------------------------------------------


def test_sign_up_code_from_the_outbox_opens_a_cookie_and_bearer_session(
    app: ModuleType, random_codes: None, frozen: Clock
) -> None:
    # Given random codes delivered to the local outbox
    # When a visitor signs up
    status, _, started = call(app, "auth-sign-up", SIGN_UP)
    # Then a challenge is issued for 10 minutes and its code is in the outbox, never in the answer
    assert status == 201
    assert set(started) == {"challengeId", "expiresAt"}
    assert started["expiresAt"] == clock.iso(frozen.moment + timedelta(minutes=10))
    [mail] = outbox()
    assert mail["to"] == "jane.doe@example.com"
    assert mail["purpose"] == "sign-up"
    assert mail["code"].isdigit() and len(mail["code"]) == 6
    assert mail["code"] not in json.dumps(started)
    # When the code is verified
    status, headers, opened = verify(app, started["challengeId"], mail["code"])
    # Then a 12-hour session is opened: the token in the body and in an HttpOnly, Secure, Lax cookie
    assert status == 200, opened
    token = opened["token"]
    assert headers["Set-Cookie"] == f"__Host-ciq_session={token}; {COOKIE_ATTRIBUTES}; Max-Age=43200"
    assert headers["Cache-Control"] == "no-store"
    assert opened["expiresAt"] == clock.iso(frozen.moment + timedelta(hours=12))
    assert opened["profile"] == {
        "userId": opened["profile"]["userId"],
        "email": "jane.doe@example.com",
        "firstName": "Jane",
        "lastName": "Doe",
        "company": "Acme Coffee",
        "phone": "+14155550123",
        "createdAt": clock.iso(frozen.moment),
    }
    # And the token is an HS256 JWT naming the user and the session, with the active key id
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    claim = claims(token)
    assert set(claim) == {"sub", "sid", "iat", "exp"}
    assert claim["sub"] == opened["profile"]["userId"]
    assert claim["exp"] - claim["iat"] == 43200
    assert "example.com" not in json.dumps(claim)
    # And the authorizer lets the token in as a Bearer header
    policy = load_function("authorizer").lambda_handler(
        authorizer_event({"Authorization": f"Bearer {token}"}), LambdaContext()
    )
    assert policy["context"] == {"userId": claim["sub"], "sessionId": claim["sid"]}


def test_the_account_exists_only_after_verify_and_no_raw_email_is_in_a_key(app: ModuleType) -> None:
    # Given a sign-up that was never verified
    start_sign_up(app)
    # Then nothing but the challenge and the rate windows (the email's, and the source address's
    # counters, keyed by hashes) exist, and signing in is refused
    assert [k.split("#")[0] for k in table_keys() if not k.startswith("ADDR#")] == ["CHALLENGE", "RATE"]
    status, _, body = call(app, "auth-sign-in", {"email": SIGN_UP["email"]})
    assert (status, error_code(body)) == (404, "account_not_found")
    # When it is verified
    profile = signed_up(app)["profile"]
    # Then the email item, the user root and the session exist, none keyed by the raw email
    keys = table_keys()
    assert any(k.startswith("EMAIL#") for k in keys)
    assert f"USER#{profile['userId']}|D#ROOT" in keys
    assert any(k.startswith(f"USER#{profile['userId']}|S#") for k in keys)
    assert not any("example.com" in k.lower() for k in keys)


def test_fixed_mode_sends_123456(app: ModuleType) -> None:
    # Given the test stage's VERIFICATION_MODE=fixed (tests/conftest.py)
    # When a visitor signs up
    challenge_id = start_sign_up(app)
    # Then the MVP code is sent and opens the session
    assert last_code() == "123456"
    assert verify(app, challenge_id, "123456")[0] == 200


def test_fixed_mode_is_refused_on_production_stages(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a production stage configured with fixed codes
    for stage in ("prod", "prod-eu"):
        monkeypatch.setenv("STAGE", stage)
        monkeypatch.setenv("VERIFICATION_MODE", "fixed")
        reset_settings()
        # When the settings are read, Then they are refused
        with pytest.raises(MisconfiguredError, match="VERIFICATION_MODE=fixed is refused"):
            get_settings()
        # And the function refuses to work at all (a 500, an operator's problem): no code is ever sent
        response = app.lambda_handler(api_event("auth-sign-up"), LambdaContext())
        assert response["statusCode"] == 500
        assert json.loads(response["body"])["error"]["code"] == "internal_error"
        assert outbox() == []
    # And random codes on prod, or fixed codes elsewhere, are fine
    assert Settings.model_validate({"STAGE": "prod", "VERIFICATION_MODE": "random"}).stage == "prod"
    assert (
        Settings.model_validate({"STAGE": "dev", "VERIFICATION_MODE": "fixed"}).verification_mode == "fixed"
    )


# -- existing, unknown and differently written emails ----------------------------------------------


def test_sign_in_with_an_unknown_email_is_404_account_not_found(app: ModuleType) -> None:
    # Given no account
    # When someone signs in
    status, _, body = call(app, "auth-sign-in", {"email": "nobody@example.com"})
    # Then the answer is 404 account_not_found and no code is sent
    assert (status, error_code(body)) == (404, "account_not_found")
    assert outbox() == []


def test_sign_up_with_an_existing_email_is_409_account_exists(app: ModuleType) -> None:
    # Given an account
    signed_up(app)
    # When the same email (written differently) signs up again
    status, _, body = call(app, "auth-sign-up", {**SIGN_UP, "email": "  JANE.Doe@Example.COM "})
    # Then 409 account_exists, and no new code is sent
    assert (status, error_code(body)) == (409, "account_exists")
    assert len(outbox()) == 1


def test_emails_match_ignoring_case_and_surrounding_whitespace(app: ModuleType) -> None:
    # Given an account signed up as "Jane.Doe@Example.com" (with spaces around it)
    profile = signed_up(app, email="  Jane.Doe@Example.com ")["profile"]
    assert profile["email"] == "Jane.Doe@Example.com"  # kept as typed, trimmed
    # When the user signs in as "jane.doe@EXAMPLE.COM"
    status, _, started = call(app, "auth-sign-in", {"email": "\tjane.doe@EXAMPLE.COM"})
    # Then the code reaches the account and opens a session for the same user
    assert status == 201, started
    assert outbox()[-1]["purpose"] == "sign-in"
    status, _, opened = verify(app, started["challengeId"], last_code())
    assert status == 200
    assert opened["profile"] == profile
    assert claims(opened["token"])["sub"] == profile["userId"]


def test_two_pending_sign_ups_for_one_email_make_one_account(app: ModuleType) -> None:
    # Given two sign-up challenges for the same email, neither verified yet
    first = start_sign_up(app)
    second = start_sign_up(app, email="JANE.DOE@example.com")
    # When both are verified
    assert verify(app, first, "123456")[0] == 200
    status, _, body = verify(app, second, "123456")
    # Then the second finds the email taken: 409 account_exists, and only one account exists
    assert (status, error_code(body)) == (409, "account_exists")
    assert len([k for k in table_keys() if k.endswith("|D#ROOT")]) == 1


# -- codes: wrong, locked, expired, used ------------------------------------------------------------


def test_a_wrong_code_is_400_and_the_sixth_attempt_is_429_locked(app: ModuleType) -> None:
    # Given a challenge
    challenge_id = start_sign_up(app)
    # When five wrong codes are tried
    for attempt in range(5):
        status, _, body = verify(app, challenge_id, f"00000{attempt}")
        # Then each is 400 invalid_code
        assert (status, error_code(body)) == (400, "invalid_code")
    # When a sixth attempt comes, even with the right code
    status, _, body = verify(app, challenge_id, "123456")
    # Then the challenge is locked: 429 challenge_locked, and no account was created
    assert (status, error_code(body)) == (429, "challenge_locked")
    assert not any(k.startswith("EMAIL#") and k.endswith("|EMAIL") for k in table_keys())  # no email index


def test_the_right_code_on_the_fifth_attempt_still_works(app: ModuleType) -> None:
    # Given four wrong attempts
    challenge_id = start_sign_up(app)
    for _ in range(4):
        assert verify(app, challenge_id, "999999")[0] == 400
    # When the fifth attempt has the right code, Then the session opens
    assert verify(app, challenge_id, "123456")[0] == 200


def test_an_expired_challenge_is_410(app: ModuleType, frozen: Clock) -> None:
    # Given a challenge issued 10 minutes ago
    challenge_id = start_sign_up(app)
    frozen.advance(minutes=10)
    # When its (right) code is verified
    status, _, body = verify(app, challenge_id, "123456")
    # Then 410 challenge_expired
    assert (status, error_code(body)) == (410, "challenge_expired")


def test_a_challenge_is_valid_until_its_last_second(app: ModuleType, frozen: Clock) -> None:
    # Given a challenge 9 min 59 s old
    challenge_id = start_sign_up(app)
    frozen.advance(minutes=9, seconds=59)
    # When verified, Then it still opens the session
    assert verify(app, challenge_id, "123456")[0] == 200


def test_a_used_or_unknown_challenge_is_404(app: ModuleType) -> None:
    # Given a challenge that already opened a session
    challenge_id = start_sign_up(app)
    assert verify(app, challenge_id, "123456")[0] == 200
    # When it is verified again, Then 404 not_found (a code is used once)
    status, _, body = verify(app, challenge_id, "123456")
    assert (status, error_code(body)) == (404, "not_found")
    # And a challenge that never existed is 404 too
    status, _, body = verify(app, "A" * 32, "123456")
    assert (status, error_code(body)) == (404, "not_found")


def test_one_code_verified_twice_at_once_opens_one_session(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account and a sign-in challenge
    signed_up(app)
    _, _, started = call(app, "auth-sign-in", {"email": SIGN_UP["email"]})
    # And another verify of the same code (another Lambda instance) that completes while this one
    # is between its checks and its write
    from ciq.auth.models import VerifyRequest
    from ciq.services import auth
    from ciq.store import auth_store

    count_attempt, raced = auth_store.count_attempt, []

    def racing(challenge_id: str, limit: int) -> auth_store.AttemptResult:
        result = count_attempt(challenge_id, limit)
        if not raced:
            raced.append(True)
            auth.verify(app.store, VerifyRequest(challenge_id=challenge_id, code="123456"))
        return result

    monkeypatch.setattr(auth_store, "count_attempt", racing)
    # When this verify writes
    status, _, body = verify(app, started["challengeId"], "123456")
    # Then it finds the code used: 404, and only the other verify opened a session
    assert (status, error_code(body)) == (404, "not_found")
    assert len([k for k in table_keys() if "|S#" in k]) == 2  # the sign-up's and one sign-in


# -- rate limit -------------------------------------------------------------------------------------


def test_the_sixth_challenge_in_15_minutes_is_429_with_retry_after(app: ModuleType, frozen: Clock) -> None:
    # Given five challenges for one email, one a minute
    for _ in range(5):
        start_sign_up(app)
        frozen.advance(minutes=1)
    # When a sixth is requested (5 minutes after the first, written differently)
    status, headers, body = call(app, "auth-sign-up", {**SIGN_UP, "email": "Jane.Doe@example.com "})
    # Then 429 rate_limited, retry when the oldest leaves the window (in 10 minutes); no code sent
    assert (status, error_code(body)) == (429, "rate_limited")
    assert headers["Retry-After"] == "600"
    assert len(outbox()) == 5
    # When the oldest leaves the window, Then one more challenge is admitted, and only one
    frozen.advance(minutes=10)
    start_sign_up(app)
    status, headers, body = call(app, "auth-sign-up", SIGN_UP)
    assert (status, headers["Retry-After"]) == (429, "60")
    # And another email is not affected
    assert call(app, "auth-sign-up", {**SIGN_UP, "email": "john@example.com"})[0] == 201


@pytest.mark.parametrize("issued_before", [0, 4])
def test_racing_challenge_requests_never_exceed_five(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch, issued_before: int
) -> None:
    # Given some challenges issued for one email
    for _ in range(issued_before):
        start_sign_up(app)
    # And another request (another Lambda instance) admitted between this one's read of the
    # rate window and its write
    from ciq.auth.models import SignUpRequest
    from ciq.services import auth
    from ciq.store import auth_store

    get_rate_window, raced = auth_store.get_rate_window, []

    def racing(email_hash: str) -> auth_store.RateWindow:
        window = get_rate_window(email_hash)
        if not raced:
            raced.append(True)
            auth.start_sign_up(app.store, SignUpRequest.model_validate(SIGN_UP))
        return window

    monkeypatch.setattr(auth_store, "get_rate_window", racing)
    # When this request writes its stale window, and more requests follow
    status, _, body = call(app, "auth-sign-up", SIGN_UP)
    for _ in range(5):
        call(app, "auth-sign-up", SIGN_UP)
    # Then the stale write was refused and the window read again: never more than five codes
    if issued_before == 4:
        assert (status, error_code(body)) == (429, "rate_limited")
    assert len(outbox()) == 5


def test_sign_in_challenges_are_rate_limited(app: ModuleType, frozen: Clock) -> None:
    # Given an account whose sign-up challenge was 20 minutes ago
    signed_up(app)
    frozen.advance(minutes=20)
    # When six sign-ins are requested at once
    statuses = [call(app, "auth-sign-in", {"email": SIGN_UP["email"]})[0] for _ in range(6)]
    # Then the first five get a code and the sixth is refused
    assert statuses == [201, 201, 201, 201, 201, 429]


# -- session and sign-out ---------------------------------------------------------------------------


def test_session_returns_the_profile_and_expiry(app: ModuleType) -> None:
    # Given a signed-in user
    opened = signed_up(app)
    # When the session is read
    status, headers, body = invoke(app, session_event("auth-session", opened["token"]))
    # Then the profile and the session expiry come back
    assert status == 200, body
    assert body == {"profile": opened["profile"], "expiresAt": opened["expiresAt"]}
    assert headers["Cache-Control"] == "no-store"


def test_sign_out_revokes_the_session_and_clears_the_cookie(app: ModuleType) -> None:
    # Given a signed-in user
    token = signed_up(app)["token"]
    # When the user signs out
    status, headers, body = invoke(app, session_event("auth-sign-out", token))
    # Then 204, and the cookie is cleared
    assert (status, body) == (204, None)
    assert headers["Set-Cookie"] == f"__Host-ciq_session=; {COOKIE_ATTRIBUTES}; Max-Age=0"
    # And the session is dead at once, whatever an authorizer let through
    status, _, body = invoke(app, session_event("auth-session", token))
    assert (status, error_code(body)) == (401, "unauthorized")
    # And the authorizer refuses the token
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        load_function("authorizer").lambda_handler(
            authorizer_event({"Cookie": f"__Host-ciq_session={token}"}), LambdaContext()
        )
    # And signing out again is harmless
    assert invoke(app, session_event("auth-sign-out", token))[0] == 204


def test_an_expired_session_is_401(app: ModuleType, frozen: Clock) -> None:
    # Given a session opened 12 hours ago
    token = signed_up(app)["token"]
    frozen.advance(hours=12)
    # When it is read, Then 401
    status, _, body = invoke(app, session_event("auth-session", token))
    assert (status, error_code(body)) == (401, "unauthorized")


def test_protected_routes_without_authorizer_context_are_401(app: ModuleType) -> None:
    # Given an event that did not pass the authorizer (no context)
    event = api_event("auth-session")
    event["requestContext"].pop("authorizer", None)
    # When it reaches the function, Then 401 (identity comes only from the authorizer)
    status, _, body = invoke(app, event)
    assert (status, error_code(body)) == (401, "unauthorized")


# -- request validation -----------------------------------------------------------------------------


def test_malformed_json_is_400_invalid_json(app: ModuleType) -> None:
    status, _, body = invoke(app, api_event("auth-sign-up", raw_body='{"email": '))
    assert (status, error_code(body)) == (400, "invalid_json")


def test_an_unknown_field_is_422_with_its_path(app: ModuleType) -> None:
    status, _, body = call(app, "auth-sign-up", {**SIGN_UP, "nickname": "JD"})
    assert (status, error_code(body)) == (422, "validation_failed")
    assert [d["path"] for d in body["error"]["details"]] == ["/nickname"]


@pytest.mark.parametrize(
    ("route", "body", "path"),
    [
        ("auth-sign-up", {k: v for k, v in SIGN_UP.items() if k != "phone"}, "/phone"),
        ("auth-sign-up", {**SIGN_UP, "phone": "4155550123"}, "/phone"),
        ("auth-sign-up", {**SIGN_UP, "firstName": "   "}, "/firstName"),
        ("auth-sign-up", {**SIGN_UP, "company": "x" * 121}, "/company"),
        ("auth-sign-up", {**SIGN_UP, "email": "jane.doe"}, "/email"),
        ("auth-sign-in", {"email": "jane doe@example.com"}, "/email"),
        (
            "auth-sign-in",
            {"email": "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com"},
            "/email",
        ),  # 260 chars
        ("auth-verify", {"challengeId": "A" * 32, "code": "12345"}, "/code"),
        ("auth-verify", {"challengeId": "no/slashes/allowed/here", "code": "123456"}, "/challengeId"),
    ],
)
def test_invalid_fields_are_422_with_their_path(app: ModuleType, route: str, body: Any, path: str) -> None:
    status, _, answer = call(app, route, body)
    assert (status, error_code(answer)) == (422, "validation_failed")
    assert path in [d["path"] for d in answer["error"]["details"]]


def test_an_oversize_body_is_413(app: ModuleType) -> None:
    status, _, body = call(app, "auth-sign-up", {**SIGN_UP, "company": "x" * 17_000})
    assert (status, error_code(body)) == (413, "payload_too_large")


def test_a_base64_body_is_read_as_api_gateway_sends_it(app: ModuleType) -> None:
    # Given the API's BinaryMediaTypes */*: API Gateway base64-encodes request bodies, as the
    # sample event (events/auth-sign-up.json) has it
    event = api_event("auth-sign-up")
    assert event["isBase64Encoded"] is True
    assert json.loads(base64.b64decode(event["body"]))["email"] == "jane.doe@example.com"
    # When it reaches the function, Then it is understood
    assert invoke(app, event)[0] == 201


def test_a_text_body_is_read_too(app: ModuleType) -> None:
    # Given a body passed as text (an API without binary media types)
    event = api_event("auth-sign-up")
    event["body"], event["isBase64Encoded"] = json.dumps(SIGN_UP), False
    # When it reaches the function, Then it is understood the same way
    assert invoke(app, event)[0] == 201


def test_a_wrong_method_is_405(app: ModuleType) -> None:
    status, headers, body = invoke(app, api_event("auth-sign-up", method="GET"))
    assert (status, error_code(body)) == (405, "method_not_allowed")
    assert "POST" in headers["Allow"]


# -- secrets and email delivery ---------------------------------------------------------------------


def test_an_unreadable_auth_secret_is_503_with_retry_after(app: ModuleType) -> None:
    # Given the SSM parameter is gone
    boto3.client("ssm").delete_parameter(Name=AUTH_SECRET_PARAM)
    # When someone signs up
    status, headers, body = call(app, "auth-sign-up", SIGN_UP)
    # Then 503 dependency_unavailable with Retry-After, and nothing was stored or sent
    assert (status, error_code(body)) == (503, "dependency_unavailable")
    assert int(headers["Retry-After"]) > 0
    assert table_keys() == []
    assert outbox() == []


def test_a_malformed_auth_secret_is_503_and_its_value_is_never_logged(
    app: ModuleType, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a secret whose key is too short
    weak = base64.urlsafe_b64encode(b"short-key-material").decode()
    value = json.dumps({"activeKid": "k1", "keys": {"k1": weak}, "pepper": weak})
    boto3.client("ssm").put_parameter(
        Name=AUTH_SECRET_PARAM, Value=value, Type="SecureString", Overwrite=True
    )
    # When someone signs up
    status, _, body = call(app, "auth-sign-up", SIGN_UP)
    # Then 503, and the logs name the bad fields but never the value
    assert (status, error_code(body)) == (503, "dependency_unavailable")
    logged = capsys.readouterr().out + caplog.text
    assert "keys/k1" in logged
    assert weak not in logged


def test_ses_delivers_the_code_by_email(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given SES with a verified sender address
    monkeypatch.setenv("EMAIL_SENDER", "ses")
    monkeypatch.setenv("EMAIL_FROM_ADDRESS", "no-reply@conversioniq.example")
    monkeypatch.setenv("VERIFICATION_MODE", "random")
    reset_settings()
    boto3.client("ses").verify_email_identity(EmailAddress="no-reply@conversioniq.example")
    # When someone signs up
    challenge_id = start_sign_up(app)
    # Then one email carries the code to the address as typed, and the outbox stays empty
    from moto.ses.models import ses_backends

    [message] = ses_backends["123456789012"]["us-east-1"].sent_messages
    assert message.destinations == {"ToAddresses": ["jane.doe@example.com"]}
    code = message.body.split("code is ")[1][:6]
    assert outbox() == []
    assert verify(app, challenge_id, code)[0] == 200


def test_ses_without_a_sender_address_is_a_clear_500(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SES chosen but no sender address configured
    monkeypatch.setenv("EMAIL_SENDER", "ses")
    monkeypatch.setenv("EMAIL_FROM_ADDRESS", "")
    reset_settings()
    # When someone signs up, Then the error names the missing setting
    status, _, body = call(app, "auth-sign-up", SIGN_UP)
    assert (status, error_code(body)) == (500, "internal_error")
    assert "EMAIL_FROM_ADDRESS" in body["error"]["message"]


def test_ses_refusing_to_send_is_503(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a sender address SES does not accept (not verified)
    monkeypatch.setenv("EMAIL_SENDER", "ses")
    monkeypatch.setenv("EMAIL_FROM_ADDRESS", "unverified@conversioniq.example")
    reset_settings()
    # When someone signs up, Then 503 with Retry-After
    status, headers, body = call(app, "auth-sign-up", SIGN_UP)
    assert (status, error_code(body)) == (503, "dependency_unavailable")
    assert "Retry-After" in headers


def test_the_log_sender_sends_nothing_and_logs_only_the_masked_address(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a fixed-code stage deployed with EmailSender=log (dev), and SES available
    monkeypatch.setenv("EMAIL_SENDER", "log")
    monkeypatch.setenv("VERIFICATION_MODE", "fixed")
    reset_settings()
    caplog.set_level("INFO", logger="ciq")
    # When someone signs up
    challenge_id = start_sign_up(app)
    # Then no email went out, nothing reached the outbox, and the log names the masked address only
    from moto.ses.models import ses_backends

    assert ses_backends["123456789012"]["us-east-1"].sent_messages == []
    assert outbox() == []
    assert "j***@example.com" in caplog.text and "EMAIL_SENDER=log" in caplog.text
    assert "jane.doe@example.com" not in caplog.text
    assert "123456" not in caplog.text
    # And the fixed code opens the session
    assert verify(app, challenge_id, "123456")[0] == 200


def test_the_log_sender_with_random_codes_is_a_clear_500(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given random codes but a sender that delivers nothing (the template's Rules refuse this too)
    monkeypatch.setenv("EMAIL_SENDER", "log")
    monkeypatch.setenv("VERIFICATION_MODE", "random")
    reset_settings()
    # When someone signs up, Then a misconfiguration 500 names the setting, and no code was issued
    status, _, body = call(app, "auth-sign-up", SIGN_UP)
    assert (status, error_code(body)) == (500, "internal_error")
    assert "EMAIL_SENDER=log" in body["error"]["message"]


# -- nothing secret in the logs ---------------------------------------------------------------------


def test_a_full_flow_never_logs_the_email_the_code_or_the_token(
    app: ModuleType,
    random_codes: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given our loggers at DEBUG (botocore's own DEBUG wire dumps are not ours and stay off), the
    # functions' JSON log lines written to this test's stdout
    caplog.set_level("DEBUG", logger="ciq")
    authorizer = load_function("authorizer")
    for logger in (app.logger, authorizer.logger):
        logger.setLevel("DEBUG")
        monkeypatch.setattr(logger.registered_handler, "stream", sys.stdout)
    # When a user signs up, verifies, reads the session, is authorized, signs out, signs in again
    # and tries a wrong code
    opened = signed_up(app)
    token = opened["token"]
    sign_up_code = outbox()[-1]["code"]
    invoke(app, session_event("auth-session", token))
    authorizer.lambda_handler(authorizer_event({"Authorization": f"Bearer {token}"}), LambdaContext())
    invoke(app, session_event("auth-sign-out", token))
    with pytest.raises(Exception, match="Unauthorized"):
        authorizer.lambda_handler(
            authorizer_event({"Cookie": f"__Host-ciq_session={token}"}), LambdaContext()
        )
    _, _, started = call(app, "auth-sign-in", {"email": "JANE.DOE@example.com"})
    sign_in_code = last_code()
    verify(app, started["challengeId"], "000000" if sign_in_code != "000000" else "111111")
    # Then something was logged, and no line but the outbox's own carries a code; none has the
    # email (in any case) or the token
    printed = capsys.readouterr()
    lines = (printed.out + printed.err + caplog.text).splitlines()
    assert any('"message":"session opened"' in line for line in lines)
    non_outbox = "\n".join(line for line in lines if not line.startswith("[outbox] "))
    for secret in (token, token.split(".")[1], token.split(".")[2]):
        assert secret not in non_outbox
    for code in (sign_up_code, sign_in_code):
        assert not re.search(rf"(?<![0-9]){code}(?![0-9])", non_outbox), code
    assert not [line for line in lines if "jane.doe@" in line.lower()]
    assert [line for line in lines if line.startswith("[outbox] ")] == [
        f"[outbox] verification code for j***@example.com: {sign_up_code}",
        f"[outbox] verification code for j***@example.com: {sign_in_code}",
    ]


# -- the examples of docs/api/auth.md ---------------------------------------------------------------

DOC = ROOT / "docs/api/auth.md"
DOC_EXAMPLE = re.compile(r"<!-- auth-example -->\s*```http\n(.*?)```\s*```http\n(.*?)```", re.S)
ANY = "…"
DOC_EVENTS = {
    ("POST", "/api/auth/sign-up"): "auth-sign-up",
    ("POST", "/api/auth/sign-in"): "auth-sign-in",
    ("POST", "/api/auth/verify"): "auth-verify",
    ("GET", "/api/auth/session"): "auth-session",
    ("POST", "/api/auth/sign-out"): "auth-sign-out",
}
PROTECTED = {"/api/auth/session", "/api/auth/sign-out"}


def _head_and_body(text: str) -> tuple[str, dict[str, str], str]:
    head, _, body = text.partition("\n\n")
    first, *lines = head.strip().splitlines()
    return first, dict(line.split(": ", 1) for line in lines), body.strip()


def _matches(expected: Any, actual: Any, where: str = "") -> list[str]:
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        missing = [f"{where}/{key}: missing" for key in expected if key not in actual]
        return missing + [
            p for k, v in expected.items() if k in actual for p in _matches(v, actual[k], f"{where}/{k}")
        ]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"]
        return [p for i, item in enumerate(expected) for p in _matches(item, actual[i], f"{where}/{i}")]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def _gateway_401() -> Any:
    from local.template import load_template

    api = load_template()["Resources"]["Api"]["Properties"]
    return json.loads(api["GatewayResponses"]["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])


def _send_as_api_gateway(
    app: ModuleType, request_text: str, state: dict[str, str]
) -> tuple[int, dict[str, str], Any]:
    for name, value in state.items():
        request_text = request_text.replace(f"<{name}>", value)
    first, headers, body = _head_and_body(request_text)
    method, path = first.split()
    event = api_event(DOC_EVENTS[(method, path)])
    event["headers"] = {k: v for k, v in event["headers"].items() if k not in ("Cookie", "Authorization")}
    event["headers"].update(headers)
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    with_body(event, body or None)
    event["requestContext"].pop("authorizer", None)
    if path in PROTECTED:
        authorizer_request = authorizer_event(
            {k: v for k, v in headers.items() if k in ("Cookie", "Authorization")}
        )
        try:
            policy = load_function("authorizer").lambda_handler(authorizer_request, LambdaContext())
        except Exception as refused:
            assert str(refused) == "Unauthorized"
            return 401, {}, _gateway_401()
        event["requestContext"]["authorizer"] = {**policy["context"], "principalId": policy["principalId"]}
    return invoke(app, event)


def test_every_example_of_the_auth_doc_is_what_the_api_answers(app: ModuleType) -> None:
    # Given a fresh stage in fixed mode, and the page's examples in order
    examples = DOC_EXAMPLE.findall(DOC.read_text())
    assert len(examples) >= 10
    state: dict[str, str] = {}
    for number, (request_text, response_text) in enumerate(examples, start=1):
        # When each documented request is sent through the authorizer (if protected) and the function
        status, headers, body = _send_as_api_gateway(app, request_text, state)
        for name in ("challengeId", "token"):
            if isinstance(body, dict) and name in body:
                state[name] = body[name]
        # Then the documented answer comes back
        first, expected_headers, expected_body = _head_and_body(response_text)
        where = f"auth.md example {number}"
        assert status == int(first), f"{where}: {status} {body}"
        for name, value in expected_headers.items():
            expected = value.replace("<token>", state.get("token", "<token>"))
            assert headers.get(name) == expected, f"{where}: {name}: {headers.get(name)!r}"
        problems = _matches(json.loads(expected_body), body) if expected_body else []
        assert not problems, f"{where}:\n" + "\n".join(problems)
        if not expected_body:
            assert body is None, f"{where}: {body}"
