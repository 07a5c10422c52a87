"""A Lambda proxy response -> the HTTP response API Gateway REST sends: statusCode, `headers` merged
with `multiValueHeaders` (several Set-Cookie), base64 bodies decoded (the template's binary media
type */* matches every Accept), Content-Type defaulting to application/json. A malformed response,
or one over Lambda's 6 MB payload limit, is API Gateway's 502 "Internal server error"."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

# Lambda's synchronous invocation payload limit (request and response), in bytes.
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024 + 100
_ALLOWED_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


class MalformedLambdaResponse(ValueError):
    """What API Gateway logs as "Malformed Lambda proxy response" (and answers 502)."""


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def internal_server_error(request_id: str) -> HttpResponse:
    """API Gateway's own answer when the integration fails (the function raised, timed out or
    returned something that is not a proxy response)."""
    return HttpResponse(
        status=502,
        headers=[("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)],
        body=b'{"message": "Internal server error"}',
    )


def from_lambda(result: Any, request_id: str) -> HttpResponse:
    _check_shape(result)
    if len(json.dumps(result, default=str)) > LAMBDA_PAYLOAD_LIMIT:
        raise MalformedLambdaResponse(
            f"the response exceeds Lambda's payload limit of {LAMBDA_PAYLOAD_LIMIT} bytes"
        )
    headers = _merged_headers(result.get("headers") or {}, result.get("multiValueHeaders") or {})
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    return HttpResponse(status=result["statusCode"], headers=headers, body=_body(result))


def _check_shape(result: Any) -> None:
    if not isinstance(result, dict):
        raise MalformedLambdaResponse(f"the handler returned {type(result).__name__}, not an object")
    unknown = set(result) - _ALLOWED_KEYS
    if unknown:
        raise MalformedLambdaResponse(f"unknown keys in the proxy response: {sorted(unknown)}")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedLambdaResponse(f"statusCode must be an integer HTTP status, got {status!r}")
    if not isinstance(result.get("body") or "", str):
        raise MalformedLambdaResponse("body must be a string")
    if not isinstance(result.get("headers") or {}, dict) or not isinstance(
        result.get("multiValueHeaders") or {}, dict
    ):
        raise MalformedLambdaResponse("headers and multiValueHeaders must be objects")


def _merged_headers(single: dict[str, Any], multi: dict[str, Any]) -> list[tuple[str, str]]:
    """API Gateway merges both maps; a header in both keeps every multi value plus a differing
    single value."""
    merged: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedLambdaResponse(f"multiValueHeaders[{name!r}] must be a list")
        merged.extend((name, _text(value, name)) for value in values)
    for name, value in single.items():
        text = _text(value, name)
        if (name.lower(), text) not in {(key.lower(), existing) for key, existing in merged}:
            merged.append((name, text))
    return merged


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedLambdaResponse(f"header {name!r} has a non-scalar value")


def _body(result: dict[str, Any]) -> bytes:
    body: str = result.get("body") or ""
    if not result.get("isBase64Encoded"):
        return body.encode()
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise MalformedLambdaResponse("isBase64Encoded is true but the body is not base64") from error
