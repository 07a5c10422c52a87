"""CORS from the stage's allow-list (CORS_ALLOW_ORIGINS), computed per request so that nothing is
read at import time. An entry may end in `:*` to allow any port of that host (the local run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ciq.settings import Settings

ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, Prefer"
EXPOSE_HEADERS = "ETag, Retry-After"
PREFLIGHT_MAX_AGE = "600"


def origin_allowed(origin: str, allow_list: tuple[str, ...]) -> bool:
    for entry in allow_list:
        if entry == origin:
            return True
        if entry.endswith(":*"):
            base = entry[:-1]
            port = origin[len(base) :]
            if origin.startswith(base) and port.isascii() and port.isdigit():
                return True
    return False


def cors_headers(origin: str | None, settings: Settings) -> dict[str, str]:
    if not origin or not origin_allowed(origin, settings.cors_allow_origins):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": EXPOSE_HEADERS,
        "Vary": "Origin",
    }


def preflight_headers(origin: str | None, methods: list[str], settings: Settings) -> dict[str, str]:
    headers = cors_headers(origin, settings)
    if headers:
        headers.update(
            {
                "Access-Control-Allow-Methods": ", ".join(methods),
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            }
        )
    return headers
