"""HTTP request -> the events API Gateway REST gives Lambda: the proxy event (payload format 1.0)
and the REQUEST/TOKEN authorizer events, plus the Lambda context object a handler receives."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from local.config import ACCOUNT_ID

if TYPE_CHECKING:
    from local.stack import ApiSpec, AuthorizerSpec, FunctionSpec, Route

LOCAL_API_ID = "localapi01"


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    path: str  # without the query string, as sent (percent-encoding kept)
    query: str
    headers: list[tuple[str, str]]  # in arrival order, names as sent
    body: bytes
    source_ip: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively (what API Gateway's `headers` holds)."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


def method_arn(region: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{LOCAL_API_ID}/{stage}/{method}{path}"


def proxy_event(
    request: IncomingRequest,
    route: Route,
    path_parameters: dict[str, str],
    api: ApiSpec,
    authorizer_context: dict[str, Any] | None,
) -> dict[str, Any]:
    body, is_base64 = _body(request, api.binary_media_types)
    event: dict[str, Any] = {
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        **_headers(request),
        **_query(request),
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": _request_context(request, route, api, authorizer_context),
        "body": body,
        "isBase64Encoded": is_base64,
    }
    return event


def request_authorizer_event(
    request: IncomingRequest, route: Route, path_parameters: dict[str, str], api: ApiSpec, region: str
) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": method_arn(region, api.stage, request.method, request.path),
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        **_headers(request),
        **_query(request),
        "pathParameters": path_parameters,
        "stageVariables": {},
        "requestContext": _request_context(request, route, api, None),
    }


def token_authorizer_event(
    request: IncomingRequest, api: ApiSpec, authorizer: AuthorizerSpec, region: str
) -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": request.header(authorizer.token_header) or "",
        "methodArn": method_arn(region, api.stage, request.method, request.path),
    }


def _headers(request: IncomingRequest) -> dict[str, Any]:
    """Header names as sent; `headers` keeps the last value, `multiValueHeaders` all of them.
    API Gateway adds the X-Forwarded-* headers of its front end."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    forwarded = [
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", _port_of(request.header("host"))),
        ("X-Forwarded-Proto", "http"),
    ]
    present = {name.lower() for name, _ in request.headers}
    for name, value in [*request.headers, *((n, v) for n, v in forwarded if n.lower() not in present)]:
        existing = next((key for key in single if key.lower() == name.lower()), name)
        single[existing] = value
        multi.setdefault(existing, []).append(value)
    return {"headers": single, "multiValueHeaders": multi}


def _port_of(host: str | None) -> str:
    _, _, port = (host or "").rpartition(":")
    return port if port.isascii() and port.isdigit() else "80"


def _query(request: IncomingRequest) -> dict[str, Any]:
    pairs = parse_qsl(request.query, keep_blank_values=True)
    if not pairs:
        return {"queryStringParameters": None, "multiValueQueryStringParameters": None}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    return {
        "queryStringParameters": {key: values[-1] for key, values in multi.items()},
        "multiValueQueryStringParameters": multi,
    }


def _body(request: IncomingRequest, binary_media_types: tuple[str, ...]) -> tuple[str | None, bool]:
    return gateway_body(request.body, request.header("content-type"), binary_media_types)


def gateway_body(
    data: bytes, content_type: str | None, binary_media_types: tuple[str, ...]
) -> tuple[str | None, bool]:
    """(body, isBase64Encoded) as API Gateway puts a request body into the proxy event: with a
    binary media type matching the Content-Type (the template has */*, so every body), base64 of
    the bytes, untouched; otherwise as text; no body at all is null."""
    if not data:
        return None, False
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    if any(fnmatch.fnmatchcase(kind, pattern.lower()) for pattern in binary_media_types):
        return base64.b64encode(data).decode("ascii"), True
    return data.decode("utf-8", errors="replace"), False


# template.yaml's Api BinaryMediaTypes ("*~1*"); tests/unit/test_events.py keeps the two equal.
TEMPLATE_BINARY_MEDIA_TYPES = ("*/*",)


def with_body(
    event: dict[str, Any],
    body: str | bytes | None,
    binary_media_types: tuple[str, ...] = TEMPLATE_BINARY_MEDIA_TYPES,
) -> dict[str, Any]:
    """A proxy event (events/*.json) with another request body, encoded as API Gateway would."""
    data = body.encode() if isinstance(body, str) else (body or b"")
    content_type = {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get("content-type")
    event["body"], event["isBase64Encoded"] = gateway_body(data, content_type, binary_media_types)
    return event


def body_text(event: dict[str, Any]) -> str | None:
    """The request body of a proxy event as text, decoding base64 (for reading events/*.json)."""
    body = event.get("body")
    if body is None or not event.get("isBase64Encoded"):
        return body
    return base64.b64decode(body).decode("utf-8")


def _request_context(
    request: IncomingRequest, route: Route, api: ApiSpec, authorizer_context: dict[str, Any] | None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "resourceId": hashlib.sha256(route.resource.encode()).hexdigest()[:6],
        "resourcePath": route.resource,
        "httpMethod": request.method,
        "extendedRequestId": request.request_id[:16],
        "requestTime": _request_time(request.received_at),
        "requestTimeEpoch": int(request.received_at * 1000),
        "path": f"/{api.stage}{request.path}",
        "protocol": "HTTP/1.1",
        "stage": api.stage,
        "domainPrefix": "localhost",
        "domainName": (request.header("host") or "localhost").rsplit(":", 1)[0],
        "requestId": request.request_id,
        "identity": _identity(request),
    }
    if authorizer_context is not None:
        context["authorizer"] = authorizer_context
    return context


def _request_time(epoch: float) -> str:
    """API Gateway's CLF format, e.g. 25/Nov/2026:12:00:01 +0000."""
    day, month, year, clock = formatdate(epoch, usegmt=True).split()[1:5]
    return f"{day}/{month}/{year}:{clock} +0000"


def _identity(request: IncomingRequest) -> dict[str, Any]:
    identity: dict[str, Any] = dict.fromkeys(
        (
            "cognitoIdentityPoolId",
            "accountId",
            "cognitoIdentityId",
            "caller",
            "principalOrgId",
            "accessKey",
            "cognitoAuthenticationType",
            "cognitoAuthenticationProvider",
            "userArn",
            "user",
        )
    )
    identity["sourceIp"] = request.source_ip
    identity["userAgent"] = request.header("user-agent")
    return identity


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context that handlers use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: None = None
    client_context: None = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def lambda_context(function: FunctionSpec, region: str) -> LambdaContext:
    return LambdaContext(
        function_name=function.name,
        memory_limit_in_mb=function.memory_mb,
        invoked_function_arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function.name}",
        aws_request_id=str(uuid.uuid4()),
        deadline=time.monotonic() + function.timeout_seconds,
        log_group_name=f"/aws/lambda/{function.name}",
    )
