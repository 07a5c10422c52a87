"""The write preconditions a client sends as headers: `If-Match` (a pinned version) and
`Idempotency-Key` (a replayable request), read into the write flow's values."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ciq.errors import VersionMismatch, invalid
from ciq.services.writes import IdempotencyRequest, WriteRequest
from ciq.web.request import header, identity

MAX_IDEMPOTENCY_KEY_LENGTH = 255
_VERSION = re.compile(r"[0-9]{1,18}")


def write_request(
    event: dict[str, Any], method: str, path: str, payload: Any, *, creates: bool = False
) -> WriteRequest:
    """The caller, its If-Match and its Idempotency-Key (scoped to method and path)."""
    caller = identity(event)
    return WriteRequest(
        user_id=caller.user_id,
        session_id=caller.session_id,
        if_match=parse_if_match(header(event, "If-Match")),
        idempotency=idempotency_request(header(event, "Idempotency-Key"), method, path, payload),
        creates=creates,
    )


def idempotency_request(key: str | None, method: str, path: str, payload: Any) -> IdempotencyRequest | None:
    """Keys are scoped per user (the record sits in the user's partition), method and path."""
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise invalid(
            "",
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters",
            "invalid_header",
        )
    scope = f"{method} {path} {key}".encode()
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return IdempotencyRequest(hashlib.sha256(scope).hexdigest(), hashlib.sha256(canonical).hexdigest())


def parse_if_match(value: str | None) -> int | None:
    """`"7"`, `W/"7"` or `7` pin version 7; `*` pins nothing. ASCII digits only (`str.isdigit`
    accepts "²", which int() refuses), and no more than a version can have."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not _VERSION.fullmatch(text):
        raise VersionMismatch('If-Match must be an ETag this API returned, such as "7"')
    return int(text)


_VERSION = re.compile(r"[0-9]{1,18}")


def parse_since(query: dict[str, str] | None) -> int | None:
    """The `since` of a delta read: a version number (ASCII digits, as an ETag carries it)."""
    text = (query or {}).get("since")
    if text is None:
        return None
    if not _VERSION.fullmatch(text):
        message = "since must be a version number this API returned, such as 7"
        raise invalid("/since", message, "invalid_version")
    return int(text)
