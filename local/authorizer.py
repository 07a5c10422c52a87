"""Running a Lambda authorizer the way API Gateway REST does and turning its outcome into a
decision: Allow (its `context` becomes requestContext.authorizer), Deny -> ACCESS_DENIED (403),
`raise Exception("Unauthorized")` -> UNAUTHORIZED (401), any other error -> AUTHORIZER_FAILURE,
a response that is not a valid policy -> AUTHORIZER_CONFIGURATION_ERROR.

No policy cache: the template sets ReauthorizeEvery 0, and a local run that re-checks every request
can only be stricter than one that caches."""

from __future__ import annotations

import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from local.events import (
    lambda_context,
    method_arn,
    request_authorizer_event,
    token_authorizer_event,
)
from local.functions import ONE_INVOCATION_AT_A_TIME

if TYPE_CHECKING:
    from local.events import IncomingRequest
    from local.functions import LoadedFunction
    from local.routing import Match
    from local.stack import ApiSpec, AuthorizerSpec

Outcome = Literal["allow", "deny", "unauthorized", "failure", "configuration_error"]
GATEWAY_RESPONSE_OF: dict[Outcome, str] = {
    "deny": "ACCESS_DENIED",
    "unauthorized": "UNAUTHORIZED",
    "failure": "AUTHORIZER_FAILURE",
    "configuration_error": "AUTHORIZER_CONFIGURATION_ERROR",
}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    context: dict[str, Any] = field(default_factory=dict)  # requestContext.authorizer when allowed
    reason: str = ""


def authorize(
    authorizer: AuthorizerSpec,
    function: LoadedFunction,
    request: IncomingRequest,
    *,
    match: Match,
    api: ApiSpec,
    region: str,
) -> Decision:
    missing = _missing_identity_source(authorizer, request)
    if missing:
        return Decision(
            "unauthorized", reason=f"identity source {missing} is missing; the authorizer is not called"
        )
    if function.handler is None:
        return Decision("failure", reason=f"{function.spec.logical_id} failed to load:\n{function.error}")
    if authorizer.payload_type == "TOKEN":
        event = token_authorizer_event(request, api, authorizer, region)
    else:
        event = request_authorizer_event(request, match.route, match.path_parameters, api, region)
    with ONE_INVOCATION_AT_A_TIME:  # one invocation at a time per process (local.functions says why)
        started = time.monotonic()
        try:
            result = function.handler(event, lambda_context(function.spec, region))
        except Exception as error:  # every failure mode has its own API Gateway answer
            if str(error) == "Unauthorized":
                return Decision("unauthorized", reason="the authorizer raised Unauthorized")
            traceback.print_exc(file=sys.stderr)
            return Decision("failure", reason=f"the authorizer raised {type(error).__name__}")
        latency_ms = int((time.monotonic() - started) * 1000)
    return _decision(result, method_arn(region, api.stage, request.method, request.path), latency_ms)


def _missing_identity_source(authorizer: AuthorizerSpec, request: IncomingRequest) -> str | None:
    if authorizer.payload_type == "TOKEN":
        return None if request.header(authorizer.token_header) else f"header {authorizer.token_header}"
    for header in authorizer.identity_headers:
        if not request.header(header):
            return f"header {header}"
    present = {key for key, value in parse_qsl(request.query, keep_blank_values=True) if value}
    for name in authorizer.identity_query_strings:
        if name not in present:
            return f"query string {name}"
    return None


def _decision(result: Any, arn: str, latency_ms: int) -> Decision:
    if not isinstance(result, dict) or not isinstance(result.get("policyDocument"), dict):
        return Decision("configuration_error", reason="the authorizer returned no policyDocument")
    principal = result.get("principalId")
    if not isinstance(principal, str) or not principal:
        return Decision("configuration_error", reason="the authorizer returned no principalId")
    context = result.get("context") or {}
    if not isinstance(context, dict) or not all(_is_scalar(value) for value in context.values()):
        return Decision("configuration_error", reason="context values must be strings, numbers or booleans")
    statements = result["policyDocument"].get("Statement")
    if not isinstance(statements, list):
        return Decision("configuration_error", reason="policyDocument.Statement must be a list")
    effect = _effect(statements, arn)
    if effect != "Allow":
        return Decision("deny", reason=f"the policy does not allow {arn}")
    # REST APIs hand context values to the integration as strings, next to principalId.
    authorizer_context: dict[str, Any] = {key: _as_string(value) for key, value in context.items()}
    authorizer_context.update({"principalId": principal, "integrationLatency": latency_ms})
    return Decision("allow", context=authorizer_context)


def _effect(statements: list[Any], arn: str) -> str | None:
    """IAM evaluation for execute-api: an explicit Deny wins, else an Allow, else implicit deny."""
    effects = {
        str(statement.get("Effect"))
        for statement in statements
        if isinstance(statement, dict)
        and _any_matches(statement.get("Action"), "execute-api:Invoke")
        and _any_matches(statement.get("Resource"), arn)
    }
    if "Deny" in effects:
        return "Deny"
    return "Allow" if "Allow" in effects else None


def _any_matches(patterns: Any, value: str) -> bool:
    candidates = patterns if isinstance(patterns, list) else [patterns]
    return any(isinstance(pattern, str) and _wildcard(pattern).fullmatch(value) for pattern in candidates)


def _wildcard(pattern: str) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters, `?` one character (case-sensitive)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
