"""API Gateway's own answers (unknown route, authorizer refusals, body too large...) rendered from
the template's GatewayResponses: status, header mappings and the body template. Types the template
does not define fall back to DEFAULT_4XX/DEFAULT_5XX, then to API Gateway's built-in message.

Header mappings are rendered as API Gateway renders them, CORS included: a static origin stays
static, and `method.request.header.Origin` (GatewayResponseOrigin=reflect) echoes any request's
Origin, allowed or not, because API Gateway cannot test an origin against a list
(docs/ops/deploy.md, "CORS of API Gateway's own answers")."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from local.responses import HttpResponse

if TYPE_CHECKING:
    from local.events import IncomingRequest
    from local.stack import ApiSpec, GatewayResponseSpec

# API Gateway's defaults: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
DEFAULTS: dict[str, tuple[int, str | None]] = {
    "ACCESS_DENIED": (403, "User is not authorized to access this resource with an explicit deny"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None),
    "AUTHORIZER_FAILURE": (500, None),
    # A function that raised, timed out or returned no valid proxy response: API Gateway's 502,
    # rendered with the template's DEFAULT_5XX (its body and CORS headers), keeping the 502 status.
    "DEFAULT_5XX": (502, "Internal server error"),
    "INTEGRATION_FAILURE": (504, None),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "RESOURCE_NOT_FOUND": (404, "Not Found"),
    "THROTTLED": (429, "Too Many Requests"),
    "UNAUTHORIZED": (401, "Unauthorized"),
}
# Not an AWS header: tells a developer (and the tests) that the gateway, not a handler, answered.
LOCAL_MARKER_HEADER = "x-local-gateway-response"
_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")
_REQUEST_MAPPING = re.compile(r"^method\.request\.(header|querystring|path)\.(.+)$")


def gateway_response(
    api: ApiSpec,
    kind: str,
    request: IncomingRequest,
    path_parameters: dict[str, str] | None = None,
) -> HttpResponse:
    default_status, default_message = DEFAULTS[kind]
    spec = _spec_for(api, kind, default_status)
    status = spec.status if spec and spec.status is not None else default_status
    variables = _context_variables(api, kind, request, default_message)
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", request.request_id),
        (LOCAL_MARKER_HEADER, kind),
    ]
    if spec is None:
        body = json.dumps({"message": default_message})
    else:
        body = _render(_template_of(spec, default_message), variables)
        headers.extend(_mapped_headers(spec, request, path_parameters or {}))
    return HttpResponse(status=status, headers=headers, body=body.encode())


def _spec_for(api: ApiSpec, kind: str, status: int) -> GatewayResponseSpec | None:
    responses = api.gateway_responses
    return responses.get(kind) or responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX")


def _template_of(spec: GatewayResponseSpec, default_message: str | None) -> str:
    template = spec.templates.get("application/json") or next(iter(spec.templates.values()), None)
    return template if template is not None else json.dumps({"message": default_message})


def _context_variables(
    api: ApiSpec, kind: str, request: IncomingRequest, message: str | None
) -> dict[str, str]:
    return {
        "error.message": message or "",
        # API Gateway's "quoted value of $context.error.message" (null when there is none).
        "error.messageString": json.dumps(message),
        "error.responseType": kind,
        "requestId": request.request_id,
        "extendedRequestId": request.request_id[:16],
        "stage": api.stage,
        "httpMethod": request.method,
        "path": f"/{api.stage}{request.path}",
        "identity.sourceIp": request.source_ip,
    }


def _render(template: str, variables: dict[str, str]) -> str:
    """Gateway response templates are not VTL: plain `$context.*` substitution, unknown -> empty."""
    return _CONTEXT_VARIABLE.sub(lambda match: variables.get(match.group(1), ""), template)


def _mapped_headers(
    spec: GatewayResponseSpec, request: IncomingRequest, path_parameters: dict[str, str]
) -> list[tuple[str, str]]:
    headers = []
    for name, expression in spec.headers.items():
        value = _mapped_value(expression, request, path_parameters)
        if value is not None:
            headers.append((name, value))
    return headers


def _mapped_value(expression: str, request: IncomingRequest, path_parameters: dict[str, str]) -> str | None:
    """`'static'` or `method.request.header|querystring|path.<name>` (what gateway responses allow)."""
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    mapping = _REQUEST_MAPPING.match(expression)
    if mapping is None:
        return None
    source, name = mapping.groups()
    if source == "header":
        return request.header(name)
    if source == "path":
        return path_parameters.get(name)
    return dict(parse_qsl(request.query, keep_blank_values=True)).get(name)
