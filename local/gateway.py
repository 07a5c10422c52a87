"""One request through the local API Gateway: route -> authorizer -> proxy event -> handler ->
HTTP response, with API Gateway's own answers wherever API Gateway would give one."""

from __future__ import annotations

import gzip
import json
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.authorizer import GATEWAY_RESPONSE_OF, authorize
from local.events import lambda_context, proxy_event
from local.functions import ONE_INVOCATION_AT_A_TIME
from local.gateway_responses import gateway_response
from local.responses import LAMBDA_PAYLOAD_LIMIT, MalformedLambdaResponse, from_lambda
from local.routing import RouteTable

if TYPE_CHECKING:
    from local.events import IncomingRequest
    from local.functions import LoadedFunction
    from local.responses import HttpResponse
    from local.stack import ApiSpec, Route, Stack

# API Gateway REST's payload quota; larger bodies never reach a function.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
# A function error (raised, timed out, malformed answer) is a 502 under the DEFAULT_5XX gateway response.
FUNCTION_ERROR = "DEFAULT_5XX"


@dataclass(frozen=True)
class Outcome:
    response: HttpResponse
    note: str = ""  # why API Gateway answered itself, for the request log line


class LocalGateway:
    def __init__(
        self,
        stack: Stack,
        functions: dict[str, LoadedFunction],
        cors_allow_list: tuple[str, ...],
        region: str,
        enforce_timeouts: bool = True,
    ) -> None:
        self.stack = stack
        self.routes = RouteTable(stack.routes)
        self.functions = functions
        self.cors_allow_list = cors_allow_list
        self.region = region
        self.enforce_timeouts = enforce_timeouts
        self.default_api = _busiest_api(stack)

    def handle(self, request: IncomingRequest) -> Outcome:
        if len(request.body) > MAX_REQUEST_BODY_BYTES:
            return self._gateway(
                self.default_api, "REQUEST_TOO_LARGE", request, "body over API Gateway's 10 MB"
            )
        match = self.routes.match(request.path, request.method)
        if match is None:
            return self._gateway(self.default_api, "MISSING_AUTHENTICATION_TOKEN", request, "no such route")
        api = self.stack.apis[match.route.api_id]
        authorizer_context = None
        if match.route.authorizer is not None:
            authorizer = match.route.authorizer
            decision = authorize(
                authorizer,
                self.functions[authorizer.function_id],
                request,
                match=match,
                api=api,
                region=self.region,
            )
            if decision.outcome != "allow":
                kind = GATEWAY_RESPONSE_OF[decision.outcome]
                return self._gateway(api, kind, request, decision.reason, match.path_parameters)
            authorizer_context = decision.context
        event = proxy_event(request, match.route, match.path_parameters, api, authorizer_context)
        return self._invoke(match.route, event, request, api)

    def _invoke(self, route: Route, event: dict[str, Any], request: IncomingRequest, api: ApiSpec) -> Outcome:
        function = self.functions[route.function_id]
        if function.handler is None:
            return self._gateway(
                api, FUNCTION_ERROR, request, f"{route.function_id} failed to load:\n{function.error}"
            )
        if len(json.dumps(event)) > LAMBDA_PAYLOAD_LIMIT:
            note = f"the event exceeds Lambda's {LAMBDA_PAYLOAD_LIMIT}-byte invocation limit (base64: +33%)"
            return self._gateway(api, "REQUEST_TOO_LARGE", request, note)
        with ONE_INVOCATION_AT_A_TIME:  # one at a time, as a sandbox (local.functions says why)
            started = time.monotonic()  # the function's time starts once it runs, not while it queues
            try:
                result = function.handler(event, lambda_context(function.spec, self.region))
            except Exception:  # a raising function is API Gateway's 502
                traceback.print_exc(file=sys.stderr)
                return self._gateway(
                    api, FUNCTION_ERROR, request, f"{route.function_id} raised (traceback above)"
                )
            elapsed = time.monotonic() - started
        if self.enforce_timeouts and elapsed > function.spec.timeout_seconds:
            limit = function.spec.timeout_seconds
            note = f"{route.function_id}: Task timed out after {limit:.0f} seconds (took {elapsed:.1f} s)"
            return self._gateway(api, FUNCTION_ERROR, request, note)
        try:
            return Outcome(compressed(from_lambda(result, request.request_id), api, request))
        except MalformedLambdaResponse as error:
            return self._gateway(api, FUNCTION_ERROR, request, f"malformed Lambda proxy response: {error}")

    def _gateway(
        self,
        api: ApiSpec,
        kind: str,
        request: IncomingRequest,
        note: str,
        path_parameters: dict[str, str] | None = None,
    ) -> Outcome:
        response = gateway_response(api, kind, request, path_parameters)
        return Outcome(response, f"{kind}: {note}{self._foreign_origin_note(request, response)}")

    def _foreign_origin_note(self, request: IncomingRequest, response: HttpResponse) -> str:
        """API Gateway's own answers reflect any Origin when GatewayResponseOrigin=reflect; the
        request log says so when that origin is not one the functions allow (CORS_ALLOW_ORIGINS)."""
        from ciq.web.cors import origin_allowed  # the functions' own rule, from the shared layer

        origin = response.header("access-control-allow-origin")
        if not origin or origin_allowed(origin.rstrip("/"), self.cors_allow_list):
            return ""
        return f" (Origin {origin} reflected although not allowed: GatewayResponseOrigin=reflect)"


def compressed(response: HttpResponse, api: ApiSpec, request: IncomingRequest) -> HttpResponse:
    """API Gateway's payload compression (MinimumCompressionSize): gzip for a client that accepts it,
    unless the function already encoded the body."""
    limit = api.minimum_compression_size
    if (
        limit is None
        or len(response.body) < limit
        or "gzip" not in (request.header("accept-encoding") or "").lower()
        or response.header("content-encoding") is not None
    ):
        return response
    response.body = gzip.compress(response.body)
    response.headers.append(("Content-Encoding", "gzip"))
    return response


def _busiest_api(stack: Stack) -> ApiSpec:
    """The API whose gateway responses answer requests that match no route (one API per run in
    practice; with several, the one serving the most routes)."""
    counts = Counter(route.api_id for route in stack.routes)
    api_id = counts.most_common(1)[0][0] if counts else next(iter(stack.apis))
    return stack.apis[api_id]
