"""Cross-site request forgery defence of every state-changing request (CONTRACT §11 "CSRF"), on top
of the cookie's SameSite=Lax:

- its body must be declared `application/json` (415 `unsupported_media_type`), so no HTML form
  (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`) can make one: a page on
  another origin can send JSON only after a CORS preflight, which the allow-list answers;
- when the session cookie authenticates it (no Bearer header), an `Origin` it carries must be in the
  stage's allow-list (403 `forbidden`). Bearer requests are not forgeable by a browser: a page cannot
  make the browser attach a header it does not know.

A request without a body and without a Content-Type (a DELETE, sign-out) has nothing to declare."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ciq.auth.cookies import cookie_authenticates
from ciq.errors import Forbidden, UnsupportedMediaType
from ciq.web.cors import origin_allowed
from ciq.web.request import header

if TYPE_CHECKING:
    from ciq.settings import Settings

STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MEDIA_TYPE = "application/json"


def check_request(event: dict[str, Any], settings: Settings) -> None:
    """Raises Forbidden or UnsupportedMediaType for a request that a browser may have forged."""
    if str(event.get("httpMethod", "")).upper() not in STATE_CHANGING_METHODS:
        return
    origin = header(event, "origin")
    cookie_session = cookie_authenticates(event.get("headers"), event.get("multiValueHeaders"))
    if cookie_session and origin is not None and not origin_allowed(origin, settings.cors_allow_origins):
        raise Forbidden("this origin may not change data with the session cookie")
    content_type = header(event, "content-type")
    if content_type is None and not _has_body(event):
        return
    if media_type(content_type) != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(f"send the body as JSON, with Content-Type: {JSON_MEDIA_TYPE}")


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json` (case-insensitive, parameters ignored)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _has_body(event: dict[str, Any]) -> bool:
    return bool(event.get("body"))
