"""Reading a proxy event: identity from the authorizer context only, headers, and a bounded JSON body."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from ciq.errors import Detail, InvalidJson, PayloadTooLarge, Unauthorized


@dataclass(frozen=True)
class Identity:
    user_id: str
    session_id: str


def identity(event: dict[str, Any]) -> Identity:
    """Who is calling, as the REQUEST authorizer established it. Never from the body or query."""
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    user_id, session_id = context.get("userId"), context.get("sessionId")
    if not isinstance(user_id, str) or not user_id or not isinstance(session_id, str) or not session_id:
        raise Unauthorized("a valid session is required")
    return Identity(user_id=user_id, session_id=session_id)


def source_ip(event: dict[str, Any]) -> str | None:
    """The caller's address as API Gateway saw it (`requestContext.identity.sourceIp`), never a
    client-supplied header such as X-Forwarded-For."""
    address = ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
    return address if isinstance(address, str) and address else None


def header(event: dict[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted and value is not None:
            return str(value)
    return None


def prefers_minimal(event: dict[str, Any]) -> bool:
    """`Prefer: return=minimal` (RFC 7240), among other preferences or not; anything else is ignored."""
    preferences = (header(event, "Prefer") or "").split(",")
    return any(p.split(";")[0].strip().lower().replace('"', "") == "return=minimal" for p in preferences)


def raw_body(event: dict[str, Any], limit: int) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidJson("the request body is not valid base64") from error
    else:
        data = body.encode()
    if len(data) > limit:
        raise PayloadTooLarge(f"the request body is {len(data)} bytes; at most {limit} are accepted")
    return data


def json_body(event: dict[str, Any], limit: int) -> Any:
    data = raw_body(event, limit)
    if not data.strip():
        raise InvalidJson("the request body is empty; a JSON object is expected")
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        # ValueError covers syntax errors, non-UTF-8 bytes, NaN/Infinity and integers over Python's
        # 4,300-digit conversion limit; RecursionError a body nested deeper than the parser's stack.
        # All are bad input, never a 500.
        raise InvalidJson(f"the request body is not valid JSON ({_reason(error)})") from error


def json_object(event: dict[str, Any], limit: int) -> dict[str, Any]:
    body = json_body(event, limit)
    if not isinstance(body, dict):
        message = "the request body must be a JSON object"
        raise InvalidJson(message, [Detail("", "type", message)])
    return body


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


class _NotJson(ValueError):
    """A token Python's parser accepts but JSON (RFC 8259) does not."""


def _reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(error, _NotJson):
        return str(error)
    return "a number has too many digits"
