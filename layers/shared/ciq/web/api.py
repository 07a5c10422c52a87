"""One small wrapper over Powertools' REST resolver so that every function answers the same way:
contract error bodies, 404/405, CORS from the stage's allow-list, gzip for large bodies.

Each route is declared once, with the facts a client needs (summary, request and answer models,
the errors it raises itself): `make openapi` (local/openapi.py) builds docs/api/openapi.json from
these declarations and template.yaml. Models are named, not imported, so declaring a route costs a
function's cold start nothing."""

from __future__ import annotations

import base64
import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import ValidationError

from ciq import budget
from ciq.errors import AppError, MethodNotAllowed, NotFound
from ciq.settings import get_settings
from ciq.web import csrf
from ciq.web.cors import cors_headers, preflight_headers
from ciq.web.errors import error_response, internal_error_response, validation_response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from ciq.services.writes import Written

GZIP_THRESHOLD_BYTES = 1024 * 1024
JSON = "application/json"
A = TypeVar("A")
# On every answer of every function (and, in template.yaml, of API Gateway's own answers): no
# content sniffing, HTTPS only for a year, and nothing cached, since every answer is about one
# caller's session or data.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class RouteFacts:
    """What one route takes and answers, as a client sees it.

    `answers`: the success status and the name of its body's contract model (None: no body).
    `body`: the request body's model name. `errors`: what the route's own rules raise; the errors
    every route of its kind can answer (bad JSON, no session, a stale version, an outage...) are
    implied by `body`, `writes` and template.yaml's authorizer. `versioned`: answers carry the
    account's `ETag` (and `Cache-Control: no-store`); a versioned GET also honours `If-None-Match`
    with 304 (ciq.web.conditional). `writes`: honours `If-Match` and `Idempotency-Key`, and marks a
    replay with `Idempotent-Replayed`. `minimal_answer`: the model answered instead for
    `Prefer: return=minimal`."""

    method: str
    resource: str
    summary: str
    answers: Mapping[int, str | None]
    body: str | None = None
    errors: tuple[type[AppError], ...] = ()
    versioned: bool = False
    writes: bool = False
    query: tuple[str, ...] = ()
    sets_cookie: bool = False
    description: str = ""
    minimal_answer: str | None = None


# Every route declared by the functions imported in this process (one on Lambda; all of them when
# local/openapi.py imports every function to describe the API), by (method, resource).
DECLARED: dict[tuple[str, str], RouteFacts] = {}


class Api:
    """Routes of one function. `resource` paths use API Gateway's `{param}` form."""

    def __init__(self, logger: Logger) -> None:
        self.resolver = APIGatewayRestResolver()
        self.logger = logger
        self.methods: dict[str, set[str]] = defaultdict(set)
        self._install_error_handlers()
        self.resolver.use(middlewares=[self._refuse_forgeable_writes])

    def route(
        self,
        method: str,
        resource: str,
        *,
        summary: str,
        answers: Mapping[int, str | None],
        body: str | None = None,
        errors: tuple[type[AppError], ...] = (),
        versioned: bool = False,
        writes: bool = False,
        query: tuple[str, ...] = (),
        sets_cookie: bool = False,
        description: str = "",
        minimal_answer: str | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        DECLARED[(method, resource)] = RouteFacts(
            method=method,
            resource=resource,
            summary=summary,
            answers=answers,
            body=body,
            errors=errors,
            versioned=versioned,
            writes=writes,
            query=query,
            sets_cookie=sets_cookie,
            description=description,
            minimal_answer=minimal_answer,
        )
        self.methods[resource].add(method)
        powertools_path = resource.replace("{", "<").replace("}", ">")
        return self.resolver.route(powertools_path, method)

    def event(self) -> dict[str, Any]:
        """The proxy event of the request being handled."""
        event: dict[str, Any] = self.resolver.current_event.raw_event
        return event

    def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        method = str(event.get("httpMethod", "")).upper()
        origin = _header(event, "origin")
        if method == "OPTIONS":
            return self._preflight(event, origin)
        with budget.started(context):  # every dependency call below ends inside the function's time
            response = self.resolver.resolve(event, context)
        headers = response.setdefault("headers", {}) or {}
        response["headers"] = headers
        headers.update(self._cors(origin))
        headers.update(SECURITY_HEADERS)
        if "Content-Encoding" in (response.get("multiValueHeaders") or {}):  # encoded by its route
            headers["Vary"] = _vary(headers.get("Vary"), "Accept-Encoding")
        return _maybe_gzip(response, _header(event, "accept-encoding"))

    def _cors(self, origin: str | None) -> dict[str, str]:
        try:
            return cors_headers(origin, get_settings())
        except AppError:
            return {}  # misconfigured: the route already answered (and logged) a 500

    def _preflight(self, event: dict[str, Any], origin: str | None) -> dict[str, Any]:
        allowed = self.methods.get(str(event.get("resource", "")), set())
        try:
            headers = preflight_headers(origin, sorted(allowed | {"OPTIONS"}), get_settings())
        except AppError:
            headers = {}
        return {
            "statusCode": 204,
            "headers": {**headers, **SECURITY_HEADERS},
            "body": "",
            "isBase64Encoded": False,
        }

    def _refuse_forgeable_writes(
        self, app: APIGatewayRestResolver, next_middleware: NextMiddleware
    ) -> Response[str]:
        """Every route of every function: a write a browser may have forged never reaches the
        handler. An unknown route or method is left to its 404/405."""
        event = app.current_event.raw_event
        if str(event.get("httpMethod", "")).upper() in self.methods.get(str(event.get("resource", "")), ()):
            csrf.check_request(event, get_settings())
        return next_middleware(app)

    def _install_error_handlers(self) -> None:
        resolver, logger = self.resolver, self.logger

        @resolver.exception_handler(AppError)  # type: ignore[untyped-decorator]
        def _app_error(error: AppError) -> Response[str]:
            if error.status >= 500:
                # `log_fields`: what an operator needs beyond the code (e.g. which stored item is corrupt)
                fields = getattr(error, "log_fields", None) or {}
                logger.error("request failed", extra={**fields, "error_code": error.code})
            return error_response(error)

        @resolver.exception_handler(ValidationError)  # type: ignore[untyped-decorator]
        def _validation(error: ValidationError) -> Response[str]:
            return validation_response(error)

        @resolver.not_found
        def _not_found(_: NotFoundError) -> Response[str]:
            resource = str(resolver.current_event.get("resource") or "")
            allowed = self.methods.get(resource)
            if allowed:
                allow = ", ".join(sorted(allowed | {"OPTIONS"}))
                return error_response(
                    MethodNotAllowed(
                        f"{resolver.current_event.http_method} is not allowed here; use {allow}",
                        headers={"Allow": allow},
                    )
                )
            return error_response(NotFound("no such route"))

        @resolver.exception_handler(Exception)  # type: ignore[untyped-decorator]
        def _unexpected(error: Exception) -> Response[str]:
            logger.exception("unhandled error", extra={"error_type": type(error).__name__})
            return internal_error_response()


def json_response(
    status: int, body: str | dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return Response(status_code=status, content_type=JSON, body=text, headers=headers or {})


def versioned_response(status: int, body: str, version: int, *, replayed: bool = False) -> Response[str]:
    """An answer about the user's data: its version as the ETag, never cached."""
    headers = {"ETag": f'"{version}"', "Cache-Control": "no-store"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(status, body, headers)


def written_response(written: Written[A], render: Callable[[A], str]) -> Response[str]:
    """A stored write's answer: 201 for a creation; the recorded bytes when it has them (a replay,
    or an answer kept with an Idempotency-Key), otherwise `render`ed here."""
    if written.recorded is not None:
        body = written.recorded.decode()
    elif written.answer is not None:
        body = render(written.answer)
    else:  # a write always has one or the other
        raise ValueError("a written answer without a body")
    status = 201 if written.created else 200
    return versioned_response(status, body, written.version, replayed=written.replayed)


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _maybe_gzip(response: dict[str, Any], accept_encoding: str | None) -> dict[str, Any]:
    body = response.get("body")
    if (
        not isinstance(body, str)
        or response.get("isBase64Encoded")
        or len(body) <= GZIP_THRESHOLD_BYTES
        or not accepts_encoding(accept_encoding, "gzip")
    ):
        return response
    response["body"] = base64.b64encode(gzip.compress(body.encode(), compresslevel=5)).decode()
    response["isBase64Encoded"] = True
    response["headers"]["Content-Encoding"] = "gzip"
    response["headers"]["Vary"] = _vary(response["headers"].get("Vary"), "Accept-Encoding")
    return response


def accepts_encoding(accept_encoding: str | None, coding: str) -> bool:
    """Whether an Accept-Encoding value names `coding` without refusing it (`;q=0`)."""
    for member in (accept_encoding or "").split(","):
        name, _, parameters = member.partition(";")
        if name.strip().lower() != coding:
            continue
        weight = parameters.strip().lower()
        if weight.startswith("q="):
            try:
                return float(weight[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _vary(existing: str | None, value: str) -> str:
    return value if not existing else f"{existing}, {value}"
