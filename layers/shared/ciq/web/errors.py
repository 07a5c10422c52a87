"""The one place where errors become HTTP responses: `{"error": {code, message, details}}`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response

from ciq.errors import AppError, InternalError, validation_failed

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


def validation_response(error: ValidationError) -> Response[str]:
    return error_response(validation_failed(error))
