"""The one place where errors become HTTP responses: `{"error": {code, message, details}}`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response

from ciq.errors import AppError, Detail, InternalError, ValidationFailed

if TYPE_CHECKING:
    from pydantic import ValidationError


def error_body(error: AppError) -> str:
    return json.dumps(
        {
            "error": {
                "code": error.code,
                "message": error.message,
                "details": [d.to_json() for d in error.details],
            }
        },
        separators=(",", ":"),
    )


def error_response(error: AppError) -> Response[str]:
    headers = {**error.headers, "Cache-Control": "no-store"}
    return Response(error.status, "application/json", error_body(error), headers)


def internal_error_response() -> Response[str]:
    return error_response(InternalError("the server could not complete the request"))


def validation_failed(error: ValidationError, prefix: str = "") -> ValidationFailed:
    """422 with one detail per pydantic error, each pointing at the offending field."""
    details = [
        Detail(prefix + json_pointer(e["loc"]), e["type"], _message(e)) for e in error.errors(include_url=False)
    ]
    return ValidationFailed("the request does not match the schema", details)


def validation_response(error: ValidationError) -> Response[str]:
    return error_response(validation_failed(error))


def json_pointer(loc: tuple[int | str, ...]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def _message(error: Any) -> str:
    # pydantic messages never echo the input value, which may be a secret or an email.
    return str(error["msg"])
