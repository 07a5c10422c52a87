"""The session cookie and where a request carries its token.

A Bearer header wins over the cookie (CONTRACT §9 "Sessions"). The Cookie header is split by hand
rather than with `http.cookies.SimpleCookie`, which stops at the first cookie it dislikes (other apps
on the same site set JSON-ish values) and would then hide ours.

The `__Host-` prefix (CONTRACT §11) makes a browser accept the cookie only with Secure, Path=/ and no
Domain, so a sibling subdomain cannot plant one for the API's host. A request that still carries
two session cookies (one planted some other way) is refused: which one the server should trust is
exactly what an attacker would like to choose."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq.errors import Unauthorized

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

COOKIE_NAME = "__Host-ciq_session"
_ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Lax"


def session_cookie(token: str, max_age_seconds: int) -> str:
    return f"{COOKIE_NAME}={token}; {_ATTRIBUTES}; Max-Age={max_age_seconds}"


def cleared_cookie() -> str:
    return f"{COOKIE_NAME}=; {_ATTRIBUTES}; Max-Age=0"


def request_token(
    headers: Mapping[str, str | None] | None,
    multi_value_headers: Mapping[str, Iterable[str | None] | None] | None = None,
) -> str | None:
    """The session token of a request: `Authorization: Bearer <t>` if present, else the cookie.
    Unauthorized when the request carries more than one session cookie, Bearer or not."""
    cookies = _cookies(_values(headers, multi_value_headers, "cookie"))
    if len(cookies) > 1:
        raise Unauthorized("the request carries more than one session cookie")
    bearer = _bearer(_values(headers, multi_value_headers, "authorization"))
    if bearer is not None:
        return bearer
    return cookies[0] if cookies else None


def cookie_authenticates(
    headers: Mapping[str, str | None] | None,
    multi_value_headers: Mapping[str, Iterable[str | None] | None] | None = None,
) -> bool:
    """True when the session cookie, not a Bearer header, is what a request authenticates with."""
    if _bearer(_values(headers, multi_value_headers, "authorization")) is not None:
        return False
    return bool(_cookies(_values(headers, multi_value_headers, "cookie")))


def _values(
    headers: Mapping[str, str | None] | None,
    multi_value_headers: Mapping[str, Iterable[str | None] | None] | None,
    name: str,
) -> list[str]:
    """Every value of one header, case-insensitively; API Gateway keeps repeats only in the
    multi-value form."""
    for key, values in (multi_value_headers or {}).items():
        if key.lower() == name and values:
            return [v for v in values if v]
    return [v for k, v in (headers or {}).items() if k.lower() == name and v]


def _bearer(values: list[str]) -> str | None:
    """A Bearer credential. Another scheme (Basic from a staging proxy, say) is not ours: ignored."""
    for value in values:
        scheme, _, credential = value.strip().partition(" ")
        if scheme.lower() == "bearer":
            return credential.strip()
    return None


def _cookies(values: list[str]) -> list[str]:
    """Every non-empty session cookie of the request (normally none or one)."""
    tokens = []
    for value in values:
        for pair in value.split(";"):
            name, sep, content = pair.strip().partition("=")
            if sep and name.strip() == COOKIE_NAME:
                token = content.strip().strip('"')
                if token:
                    tokens.append(token)
    return tokens
