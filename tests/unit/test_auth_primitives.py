"""The auth building blocks without AWS: tokens, the secret format, cookies and Bearer headers, the
rate window, email and code hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from ciq.auth import cookies, rate, tokens
from ciq.auth.codes import FIXED_CODE, code_digest, code_matches, new_code
from ciq.auth.emails import email_hash, mask_email, normalize_email
from ciq.auth.secret import AuthSecret

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
TTL = 12 * 3600


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def secret_value(active: str = "k1", kids: tuple[str, ...] = ("k1",)) -> dict[str, Any]:
    return {
        "activeKid": active,
        "keys": {k: b64(secrets.token_bytes(32)) for k in kids},
        "pepper": b64(b"p" * 32),
    }


def make_secret(**kwargs: Any) -> AuthSecret:
    return AuthSecret.model_validate(secret_value(**kwargs))


USER, SESSION = "N3q8Xr2vT0yLk5Wm9Zb1Cg", "p7Hn2Kq9Lr4Ts6Vx8Yz0Ab"


# -- tokens -----------------------------------------------------------------------------------------


def test_a_token_round_trips_with_its_claims_and_key_id() -> None:
    # Given a secret whose active key is k1
    secret = make_secret()
    # When a token is issued
    issued = tokens.issue(secret, USER, SESSION, NOW + timedelta(microseconds=999), TTL)
    # Then it carries kid k1, HS256, the user, the session and whole-second times 12 h apart
    assert jwt.get_unverified_header(issued.token) == {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    claims = tokens.verify(issued.token, secret, NOW)
    assert (claims.sub, claims.sid, claims.iat, claims.exp) == (
        USER,
        SESSION,
        int(NOW.timestamp()),
        int(NOW.timestamp()) + TTL,
    )
    assert issued.expires_at == NOW + timedelta(seconds=TTL)


def test_a_token_expires_at_its_exp_second() -> None:
    secret = make_secret()
    token = tokens.issue(secret, USER, SESSION, NOW, TTL).token
    tokens.verify(token, secret, NOW + timedelta(seconds=TTL - 1))
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.verify(token, secret, NOW + timedelta(seconds=TTL))


def test_a_token_of_a_removed_key_fails_and_of_a_kept_key_passes() -> None:
    # Given a token signed with k1
    secret = make_secret()
    token = tokens.issue(secret, USER, SESSION, NOW, TTL).token
    # When k2 becomes active and k1 is kept, Then the token passes
    value = secret_value(active="k2", kids=("k2",))
    rotated = AuthSecret.model_validate({**value, "keys": {**value["keys"], "k1": b64(secret.keys["k1"])}})
    assert tokens.verify(token, rotated, NOW).sub == USER
    # When k1 is removed, Then it fails as an unknown key
    retired = AuthSecret.model_validate(value)
    with pytest.raises(tokens.InvalidToken, match="unknown_kid"):
        tokens.verify(token, retired, NOW)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda s: jwt.encode({"sub": USER}, None, algorithm="none", headers={"kid": "k1"}), "algorithm"),
        (
            lambda s: jwt.encode(_claims(), s.keys["k1"], algorithm="HS512", headers={"kid": "k1"}),
            "algorithm",
        ),
        (lambda s: jwt.encode(_claims(), s.keys["k1"], algorithm="HS256"), "unknown_kid"),
        (lambda s: _hand_signed(s, {"alg": "HS256", "typ": "JWT", "kid": 1}), "malformed"),
        (lambda s: jwt.encode(_claims(), b"x" * 32, algorithm="HS256", headers={"kid": "k1"}), "signature"),
        (lambda s: _signed(s, {k: v for k, v in _claims().items() if k != "sid"}), "claims"),
        (lambda s: _signed(s, {**_claims(), "sub": "../../etc"}), "claims"),
        (lambda s: _signed(s, {**_claims(), "exp": "soon"}), "claims"),
        (lambda s: _signed(s, {**_claims(), "iat": _claims()["exp"] + 1}), "claims"),
        (lambda s: "not-a-jwt", "malformed"),
        (lambda s: "", "malformed"),
        (lambda s: "a" * 5000, "malformed"),
    ],
)
def test_a_bad_token_fails_with_its_reason(make: Any, reason: str) -> None:
    secret = make_secret()
    with pytest.raises(tokens.InvalidToken) as failed:
        tokens.verify(make(secret), secret, NOW)
    assert failed.value.reason == reason


def _claims() -> dict[str, Any]:
    return {"sub": USER, "sid": SESSION, "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + TTL}


def _hand_signed(secret: AuthSecret, header: dict[str, Any]) -> str:
    """A token PyJWT would refuse to make (a header it considers invalid), correctly signed."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(_claims()).encode())}"
    signature = hmac.new(secret.keys["k1"], signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def _signed(secret: AuthSecret, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, secret.keys["k1"], algorithm="HS256", headers={"kid": "k1"})


def test_a_tampered_payload_fails_the_signature() -> None:
    secret = make_secret()
    header, _, signature = tokens.issue(secret, USER, SESSION, NOW, TTL).token.split(".")
    payload = b64(json.dumps({**_claims(), "sub": "AnotherUser123"}).encode())
    with pytest.raises(tokens.InvalidToken, match="signature"):
        tokens.verify(f"{header}.{payload}.{signature}", secret, NOW)


# -- the secret format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"keys": {"k1": b64(b"k" * 31)}}, "keys"),
        ({"keys": {"k1": "***not base64***"}}, "keys"),
        ({"keys": {}}, "keys"),
        ({"keys": {"bad kid!": b64(b"k" * 32)}, "activeKid": "bad kid!"}, "keys"),
        ({"pepper": b64(b"p" * 16)}, "pepper"),
        ({"activeKid": "k2"}, "activeKid must name one of keys"),
        ({"extra": "field"}, "extra"),
    ],
)
def test_a_malformed_secret_is_refused_without_echoing_it(change: dict[str, Any], field: str) -> None:
    value = {**secret_value(), **change}
    with pytest.raises(ValidationError) as refused:
        AuthSecret.model_validate(value)
    assert field in str(refused.value)
    for key in value.get("keys", {}).values():
        assert key not in str(refused.value)


def test_keys_decode_with_or_without_base64_padding() -> None:
    raw = secrets.token_bytes(32)
    padded = base64.urlsafe_b64encode(raw).decode()
    assert padded.endswith("=")
    value = {"activeKid": "k1", "keys": {"k1": padded, "k2": padded.rstrip("=")}, "pepper": padded}
    secret = AuthSecret.model_validate(value)
    assert secret.keys == {"k1": raw, "k2": raw}
    assert secret.signing_key == raw


# -- cookies and Bearer headers ---------------------------------------------------------------------


def test_the_session_cookie_attributes() -> None:
    assert (
        cookies.session_cookie("t.o.k", 43200)
        == "__Host-ciq_session=t.o.k; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=43200"
    )
    assert (
        cookies.cleared_cookie() == "__Host-ciq_session=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0"
    )


@pytest.mark.parametrize(
    ("headers", "multi", "token"),
    [
        ({"Authorization": "Bearer abc"}, None, "abc"),
        ({"authorization": "bearer  abc "}, None, "abc"),
        ({"Cookie": "__Host-ciq_session=abc"}, None, "abc"),
        ({"cookie": 'a=1; __Host-ciq_session="abc"; b={"x":2}'}, None, "abc"),
        ({"Cookie": "xciq_session=zzz; __Host-ciq_session=abc"}, None, "abc"),
        ({"Cookie": "__Host-ciq_session=; __Host-ciq_session=abc"}, None, "abc"),
        ({"Authorization": "Bearer abc", "Cookie": "__Host-ciq_session=def"}, None, "abc"),
        ({"Authorization": "Basic dXNlcg==", "Cookie": "__Host-ciq_session=def"}, None, "def"),
        ({"Authorization": "Bearer", "Cookie": "__Host-ciq_session=def"}, None, ""),
        ({"Cookie": "a=1"}, {"Cookie": ["a=1", "__Host-ciq_session=abc"]}, "abc"),
        ({"Cookie": "theme=dark"}, None, None),
        ({}, None, None),
        (None, None, None),
    ],
)
def test_the_request_token_prefers_bearer_then_the_cookie(
    headers: dict[str, str] | None, multi: dict[str, list[str]] | None, token: str | None
) -> None:
    assert cookies.request_token(headers, multi) == token


# -- the rate window --------------------------------------------------------------------------------


def test_five_challenges_are_admitted_and_the_sixth_waits_for_the_oldest() -> None:
    now = 1_000_000_000_000
    stamps: list[int] = []
    for minute in range(5):
        admission = rate.admit(stamps, now + minute * 60_000)
        assert admission.admitted
        stamps = admission.stamps
    refused = rate.admit(stamps, now + 5 * 60_000)
    assert (refused.admitted, refused.retry_after) == (False, 600)
    assert refused.stamps == stamps
    # The oldest leaves the window exactly 15 minutes after it was issued (Retry-After later)
    assert not rate.admit(stamps, now + 15 * 60_000 - 1).admitted
    later = rate.admit(stamps, now + 15 * 60_000)
    assert later.admitted
    assert later.stamps == [*stamps[1:], now + 15 * 60_000]


def test_retry_after_is_at_least_one_second() -> None:
    now = 1_000_000_000_000
    stamps = [now - 15 * 60_000 + 10] + [now] * 4
    assert rate.admit(stamps, now).retry_after == 1


# -- emails and codes -------------------------------------------------------------------------------


def test_emails_hash_alike_whatever_their_case_or_surrounding_spaces() -> None:
    pepper = b"p" * 32
    assert normalize_email("  Jane.Doe@Example.COM\t") == "jane.doe@example.com"
    assert email_hash(pepper, " Jane.Doe@Example.COM") == email_hash(pepper, "jane.doe@example.com")
    assert email_hash(pepper, "jane.doe@example.com") != email_hash(b"q" * 32, "jane.doe@example.com")
    assert len(email_hash(pepper, "jane.doe@example.com")) == 64
    assert mask_email("Jane.Doe@Example.com") == "j***@example.com"


def test_codes_are_six_digits_and_fixed_mode_is_123456() -> None:
    codes = {new_code("random") for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150
    assert new_code("fixed") == FIXED_CODE == "123456"


def test_a_code_digest_is_bound_to_its_challenge() -> None:
    pepper = b"p" * 32
    digest = code_digest(pepper, "challenge-a", "123456")
    assert "123456" not in digest
    assert code_matches(pepper, "challenge-a", "123456", digest)
    assert not code_matches(pepper, "challenge-b", "123456", digest)
    assert not code_matches(pepper, "challenge-a", "123457", digest)
