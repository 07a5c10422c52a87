"""The local API Gateway's parts on their own: authorizer decisions, Lambda response mapping,
gateway responses, proxy events."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from local.authorizer import authorize
from local.events import IncomingRequest, proxy_event
from local.functions import LoadedFunction
from local.gateway_responses import gateway_response
from local.responses import LAMBDA_PAYLOAD_LIMIT, MalformedLambdaResponse, from_lambda
from local.routing import Match
from local.stack import ApiSpec, AuthorizerSpec, FunctionSpec, GatewayResponseSpec, Route

AUTHORIZER = AuthorizerSpec("Session", "Auth", "REQUEST", (), (), "Authorization")
ROUTE = Route("/items/{id}", "GET", "Items", "Api", AUTHORIZER, "Get")
MATCH = Match(ROUTE, {"id": "7"})
API = ApiSpec("Api", "local", ("*/*",), {})
TEMPLATE_WITH_VARIABLES = '{"m":"$context.error.message","s":$context.error.messageString,"u":"$context.x"}'
ARN = "arn:aws:execute-api:us-east-1:123456789012:localapi01/local/GET/items/7"


def request(**overrides: Any) -> IncomingRequest:
    values: dict[str, Any] = {
        "method": "GET",
        "path": "/items/7",
        "query": "",
        "headers": [("Host", "localhost:3000"), ("Authorization", "Bearer t")],
        "body": b"",
        "source_ip": "127.0.0.1",
    }
    values.update(overrides)
    return IncomingRequest(**values)


def loaded(handler: Any) -> LoadedFunction:
    spec = FunctionSpec("Auth", "auth", Path("/x"), "app.lambda_handler", {}, (), 5, 128)
    return LoadedFunction(spec=spec, handler=handler, error=None)


def decide(result: Any = None, error: Exception | None = None) -> Any:
    def handler(event: dict[str, Any], context: Any) -> Any:
        if error:
            raise error
        return result

    return authorize(AUTHORIZER, loaded(handler), request(), match=MATCH, api=API, region="us-east-1")


def policy(*statements: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "principalId": "u-1",
        "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        "context": context or {},
    }


def statement(effect: str, resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": effect, "Resource": resource, "Action": action}


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        (policy(statement("Allow", ARN)), "allow"),
        (
            policy(statement("Allow", "arn:aws:execute-api:us-east-1:123456789012:localapi01/local/*/*")),
            "allow",
        ),
        (policy(statement("Allow", ["arn:other", "arn:aws:execute-api:*:*:*/local/GET/items/?"])), "allow"),
        (policy(statement("Allow", "*", action="execute-api:*")), "allow"),
        (policy(statement("Allow", "*"), statement("Deny", ARN)), "deny"),
        (policy(statement("Allow", "arn:aws:execute-api:*:*:*/local/POST/*")), "deny"),
        (policy(), "deny"),
        ({"principalId": "u-1"}, "configuration_error"),
        (policy(statement("Allow", ARN), context={"nested": {"a": 1}}), "configuration_error"),
        ({"policyDocument": {"Statement": []}}, "configuration_error"),
    ],
)
def test_policies_are_evaluated_like_iam(result: dict[str, Any], outcome: str) -> None:
    # Given an authorizer returning this policy; When API Gateway evaluates it for GET /items/7
    # Then an explicit Deny wins, wildcards match, and a broken response is a configuration error
    assert decide(result).outcome == outcome


def test_an_allow_passes_the_context_as_strings_with_principal_id() -> None:
    # Given an Allow with string, number and boolean context values
    decision = decide(policy(statement("Allow", ARN), context={"userId": "u-1", "n": 3, "ok": False}))
    # Then requestContext.authorizer gets them as strings, plus principalId and integrationLatency
    assert {k: v for k, v in decision.context.items() if k != "integrationLatency"} == {
        "userId": "u-1",
        "n": "3",
        "ok": "false",
        "principalId": "u-1",
    }


def test_unauthorized_and_other_errors_are_different_outcomes() -> None:
    # Given an authorizer that raises Exception("Unauthorized"), then one that fails otherwise
    # Then the first is API Gateway's 401 and the second its AUTHORIZER_FAILURE
    assert decide(error=Exception("Unauthorized")).outcome == "unauthorized"
    assert decide(error=TimeoutError("ssm")).outcome == "failure"


def test_responses_merge_headers_and_decode_base64() -> None:
    # Given a proxy response with both header maps and a base64 body
    result = {
        "statusCode": 201,
        "headers": {"Set-Cookie": "c=3", "X-One": 1},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "c=3"]},
        "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True,
    }
    # When it is mapped to HTTP
    response = from_lambda(result, "req-1")
    # Then every cookie is there once, scalars are text, the body is bytes, Content-Type defaults
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "c=3"]
    assert ("X-One", "1") in response.headers
    assert response.body == b"\x00\x01"
    assert response.header("content-type") == "application/json"
    assert response.status == 201


@pytest.mark.parametrize(
    "result",
    [
        None,
        {"statusCode": "200", "body": ""},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "body": "", "extra": True},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "headers": {"X": ["a"]}},
        {"statusCode": 200, "body": "x" * LAMBDA_PAYLOAD_LIMIT},
    ],
)
def test_malformed_or_oversized_responses_are_refused(result: Any) -> None:
    # Given what API Gateway logs as "Malformed Lambda proxy response" (or Lambda's 6 MB limit)
    with pytest.raises(MalformedLambdaResponse):
        from_lambda(result, "req-1")


def test_gateway_responses_fall_back_to_default_types_then_to_api_gateways_message() -> None:
    # Given an API with only DEFAULT_4XX, using both $context.error variables
    api = ApiSpec(
        "Api",
        "local",
        (),
        {
            "DEFAULT_4XX": GatewayResponseSpec(
                None,
                {"X-Static": "'yes'", "X-Origin": "method.request.header.Origin"},
                {"application/json": TEMPLATE_WITH_VARIABLES},
            )
        },
    )
    incoming = request(headers=[("Origin", "https://evil.example")])
    # When API Gateway answers UNAUTHORIZED (no own response) and a 5XX type (no DEFAULT_5XX)
    unauthorized = gateway_response(api, "UNAUTHORIZED", incoming)
    failure = gateway_response(api, "AUTHORIZER_FAILURE", incoming)
    # Then DEFAULT_4XX renders the first with its default status and message
    assert unauthorized.status == 401
    assert json.loads(unauthorized.body) == {"m": "Unauthorized", "s": "Unauthorized", "u": ""}
    assert unauthorized.header("x-static") == "yes"
    assert unauthorized.header("x-origin") == "https://evil.example"
    # And the second gets API Gateway's built-in body
    assert failure.status == 500
    assert json.loads(failure.body) == {"message": None}


def test_a_text_body_stays_text_when_no_binary_media_type_matches() -> None:
    # Given an API whose only binary media type is image/png
    api = ApiSpec("Api", "local", ("image/png",), {})
    incoming = request(
        method="POST", body=b'{"a":1}', headers=[("Content-Type", "application/json; charset=utf-8")]
    )
    # When the proxy event is built; Then the JSON body is passed as text, not base64
    event = proxy_event(incoming, ROUTE, {"id": "7"}, api, None)
    assert (event["body"], event["isBase64Encoded"]) == ('{"a":1}', False)
    png = proxy_event(
        request(method="POST", body=b"\x89PNG", headers=[("Content-Type", "image/png")]), ROUTE, {}, api, None
    )
    assert png["isBase64Encoded"] is True
    assert png["pathParameters"] is None
