"""Second-review hardening of tokens and cookies (issue 10, item 7; docs/ops/security.md): strict
claims (integer times, `iat` not in the future, `nbf` honoured), one canonical encoding per token (no
padding or spare-bit variants), the `__Host-` cookie, and a request with two session cookies refused."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest

from ciq.auth import cookies, tokens
from ciq.errors import Unauthorized
from tests.unit.test_auth_primitives import NOW, SESSION, TTL, USER, _claims, _signed, make_secret

STAMP = int(NOW.timestamp())


@pytest.mark.parametrize(
    "claims",
    [
        {**_claims(), "exp": float(STAMP + TTL)},  # 1.7e9 is not an integer second
        {**_claims(), "exp": str(STAMP + TTL)},
        {**_claims(), "exp": True},
        {**_claims(), "iat": float(STAMP)},
        {**_claims(), "iat": STAMP + tokens.CLOCK_SKEW_SECONDS + 1},  # issued in the future
        {**_claims(), "nbf": STAMP + tokens.CLOCK_SKEW_SECONDS + 1},  # not valid yet
        {**_claims(), "nbf": "now"},
        {**_claims(), "nbf": float(STAMP)},
    ],
    ids=[
        "exp-float",
        "exp-string",
        "exp-bool",
        "iat-float",
        "iat-future",
        "nbf-future",
        "nbf-string",
        "nbf-float",
    ],
)
def test_claims_that_are_not_whole_current_seconds_are_refused(claims: dict[str, Any]) -> None:
    # Given a correctly signed token whose times are not integers, or say it is not valid yet
    secret = make_secret()
    # When it is verified; Then it is refused for its claims
    with pytest.raises(tokens.InvalidToken, match="claims"):
        tokens.verify(_signed(secret, claims), secret, NOW)


def test_a_past_nbf_and_a_small_clock_skew_are_accepted() -> None:
    # Given tokens valid since a second ago, and one issued by an instance whose clock runs 2 s ahead
    secret = make_secret()
    for claims in (
        {**_claims(), "nbf": STAMP - 1},
        {**_claims(), "iat": STAMP + 2, "nbf": STAMP + 2},
    ):
        # When verified; Then accepted
        assert tokens.verify(_signed(secret, claims), secret, NOW).sub == USER


def _variants(token: str) -> list[str]:
    """The same header, claims and signature, spelled differently."""
    header, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 32 bytes = 43 characters: the last one carries 2 unused bits; flipping them decodes alike
    spare = alphabet[alphabet.index(last) ^ 1]
    assert base64.urlsafe_b64decode(signature[:-1] + spare + "=") == raw
    return [
        f"{header}.{payload}.{signature}=",
        f"{header}.{payload}.{signature}==",
        f"{header}=.{payload}.{signature}" if len(header) % 4 else f"{header}.{payload}=.{signature}",
        f"{header}.{payload}.{signature[:-1]}{spare}",
        f"{header}.{payload}.{base64.standard_b64encode(raw).decode().rstrip('=')}",
        f"{header}.{payload}.{signature}.",
        f" {header}.{payload}.{signature}",
    ]


def test_only_the_canonical_spelling_of_a_token_is_accepted() -> None:
    # Given a valid token
    secret = make_secret()
    token = tokens.issue(secret, USER, SESSION, NOW, TTL).token
    assert tokens.verify(token, secret, NOW + timedelta(seconds=1)).sid == SESSION
    # When any other spelling of the same bytes is presented; Then it is refused as malformed
    for variant in _variants(token):
        if variant == token:
            continue
        with pytest.raises(tokens.InvalidToken, match="malformed"):
            tokens.verify(variant, secret, NOW)


def test_the_session_cookie_is_a_host_only_cookie() -> None:
    # Given a session cookie; Then its name has the __Host- prefix, which browsers honour only with
    # Secure, Path=/ and no Domain, and it carries exactly those
    cookie = cookies.session_cookie("t.o.k", TTL)
    assert cookie.startswith("__Host-ciq_session=t.o.k; ")
    attributes = [a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]]
    assert {"secure", "path", "httponly", "samesite"} <= set(attributes)
    assert "domain" not in attributes and "Path=/;" in cookie
    assert cookies.cleared_cookie().startswith("__Host-ciq_session=; ")


@pytest.mark.parametrize(
    ("headers", "multi"),
    [
        ({"Cookie": "__Host-ciq_session=aaa; __Host-ciq_session=bbb"}, None),
        (
            {"Cookie": "__Host-ciq_session=aaa"},
            {"Cookie": ["__Host-ciq_session=aaa", "__Host-ciq_session=bbb"]},
        ),
        ({"Authorization": "Bearer abc", "Cookie": "__Host-ciq_session=a; x=1; __Host-ciq_session=b"}, None),
    ],
)
def test_a_request_with_two_session_cookies_is_refused(
    headers: dict[str, str], multi: dict[str, list[str]] | None
) -> None:
    # Given a request that carries two session cookies (one planted by someone else), Bearer or not
    # When its token is read; Then it is refused, never one of the two picked
    with pytest.raises(Unauthorized):
        cookies.request_token(headers, multi)


def test_the_old_cookie_name_is_no_longer_read() -> None:
    # Given only a cookie under the pre-__Host- name; Then it opens nothing
    assert cookies.request_token({"Cookie": "ciq_session=abc"}) is None
