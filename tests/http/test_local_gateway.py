"""The local API Gateway over real HTTP, on the throwaway stack: routing, events, the authorizer
contract, gateway responses, response mapping, bodies and limits."""

from __future__ import annotations

import base64
import gzip
import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.http.conftest import LOOPBACK_ONLY

if TYPE_CHECKING:
    import httpx

    from tests.http.conftest import Throwaway

pytestmark = LOOPBACK_ONLY

ALLOW = {"Authorization": "Bearer allow"}
LOCAL_ORIGIN = "http://localhost:5173"


def body_of(response: httpx.Response) -> Any:
    return response.json()


def event_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


def gateway_type(response: httpx.Response) -> str | None:
    kind: str | None = response.headers.get("x-local-gateway-response")
    return kind


# --- routing ---------------------------------------------------------------------------------


def test_unknown_path_answers_the_templates_missing_authentication_token_response(
    throwaway: Throwaway,
) -> None:
    # Given the throwaway stack, which has no /nowhere route
    with throwaway.server.client() as client:
        # When a client calls it
        response = client.get("/nowhere", headers={"Origin": LOCAL_ORIGIN})
    # Then API Gateway's MISSING_AUTHENTICATION_TOKEN answer comes back in the contract's error shape
    assert response.status_code == 404
    assert body_of(response) == {"error": {"code": "not_found", "message": "no such route", "details": []}}
    assert gateway_type(response) == "MISSING_AUTHENTICATION_TOKEN"
    assert response.headers["content-type"] == "application/json"
    # And the local origin is reflected, with the template's other CORS headers
    assert response.headers["access-control-allow-origin"] == LOCAL_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"


def test_a_method_the_resource_lacks_goes_to_its_any_event_and_the_handler_answers_405(
    throwaway: Throwaway,
) -> None:
    # Given /items with GET, OPTIONS and ANY events (ANY protected by the authorizer)
    with throwaway.server.client() as client:
        # When DELETE is sent with a valid session
        response = client.delete("/items", headers=ALLOW)
        # And without one
        anonymous = client.delete("/items")
    # Then the ANY event's function answered (its 405), after the authorizer allowed it
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, OPTIONS"
    assert gateway_type(response) is None
    # And without a session the authorizer stopped it first
    assert anonymous.status_code == 401


def test_a_literal_segment_wins_over_a_path_parameter(throwaway: Throwaway) -> None:
    # Given /items/search (public) next to /items/{itemId} (protected)
    with throwaway.server.client() as client:
        # When both are called without a session
        search = client.get("/items/search")
        item = client.get("/items/42")
        item_allowed = client.get("/items/42", headers=ALLOW)
    # Then /items/search is its own route and /items/42 is the parameter route
    assert event_of(search)["resource"] == "/items/search"
    assert item.status_code == 401
    assert event_of(item_allowed)["pathParameters"] == {"itemId": "42"}


def test_a_greedy_path_parameter_takes_the_rest_of_the_path(throwaway: Throwaway) -> None:
    # Given /files/{path+} with an ANY event
    with throwaway.server.client() as client:
        # When a nested path is fetched
        response = client.put("/files/a/b/c.txt", content=b"x")
    # Then the whole rest of the path is the parameter
    event = event_of(response)
    assert event["resource"] == "/files/{path+}"
    assert event["pathParameters"] == {"path": "a/b/c.txt"}
    assert event["httpMethod"] == "PUT"


# --- the proxy event -------------------------------------------------------------------------


def test_the_handler_gets_a_rest_api_proxy_event(throwaway: Throwaway) -> None:
    # Given a protected GET route
    with throwaway.server.client() as client:
        # When it is called with a query string repeating a key and two values of one header
        response = client.get(
            "/items/7?tag=a&tag=b&q=hello%20world",
            headers=[
                ("Authorization", "Bearer allow"),
                ("X-Many", "1"),
                ("X-Many", "2"),
                ("User-Agent", "t/1"),
            ],
        )
    event = event_of(response)
    # Then the event has the REST API (payload 1.0) shape, with the template's resource path
    assert event["resource"] == "/items/{itemId}"
    assert event["path"] == "/items/7"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"tag": "b", "q": "hello world"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["hello world"]}
    assert event["multiValueHeaders"]["X-Many"] == ["1", "2"]
    assert event["headers"]["X-Many"] == "2"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/items/{itemId}"
    assert context["httpMethod"] == "GET"
    assert context["stage"] == "local"
    assert context["path"] == "/local/items/7"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "t/1"
    assert isinstance(context["requestTimeEpoch"], int)
    assert context["requestId"] == response.headers["x-amzn-requestid"]
    # And the authorizer's context arrives as strings, with principalId and integrationLatency
    authorizer = context["authorizer"]
    assert {k: authorizer[k] for k in ("userId", "sessionId", "n", "flag", "principalId")} == {
        "userId": "u-1",
        "sessionId": "s-1",
        "n": "7",
        "flag": "true",
        "principalId": "u-1",
    }
    assert isinstance(authorizer["integrationLatency"], int)


def test_a_public_route_has_no_authorizer_context(throwaway: Throwaway) -> None:
    # Given a route with Auth: {Authorizer: NONE}
    with throwaway.server.client() as client:
        # When it is called
        event = event_of(client.get("/public/echo"))
    # Then requestContext has no authorizer entry
    assert "authorizer" not in event["requestContext"]


def test_the_function_runs_with_its_template_environment_and_context(throwaway: Throwaway) -> None:
    # Given EchoFunction (FunctionName !Sub throwaway-${Stage}-echo, MemorySize 256 from Globals)
    with throwaway.server.client() as client:
        # When it answers
        payload = client.get("/public/echo").json()
    # Then !Ref/!Sub/!GetAtt were resolved with the local stage, and local-only variables are set
    assert payload["stage"] == "local"
    assert payload["tableName"] == "throwaway-local-data"
    assert payload["tableArn"] == "arn:aws:dynamodb:us-east-1:123456789012:table/throwaway-local-data"
    assert payload["emailSender"] == "outbox"
    # And the auth secret parameter was seeded with fresh keys in the documented format
    assert payload["authSecret"] == {"activeKid": "local-1", "keyBytes": 32, "hasPepper": True}
    assert payload["functionName"] == "throwaway-local-echo"
    assert payload["memory"] == 256
    assert 0 < payload["remainingMs"] <= 10_000
    # And its own POWERTOOLS_SERVICE_NAME was set while its module was imported, not afterwards
    assert payload["serviceAtImport"] == "echo"
    assert payload["serviceNow"] is None
    # And its sibling module is its own, not the authorizer's helpers.py
    assert payload["helper"] == "echo-helpers"


# --- the authorizer --------------------------------------------------------------------------


def test_the_authorizer_gets_a_request_authorizer_event(throwaway: Throwaway) -> None:
    # Given a protected route
    before = len(throwaway.authorizer_events())
    with throwaway.server.client() as client:
        # When it is called with a cookie and a query string
        client.get("/items/9?x=1", headers={**ALLOW, "Cookie": "__Host-ciq_session=abc"})
    record = throwaway.authorizer_events()[before]
    event = record["event"]
    assert isinstance(event, dict)
    # Then the authorizer saw API Gateway's REQUEST authorizer event for that method and path
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:localapi01/local/GET/items/9"
    assert event["resource"] == "/items/{itemId}"
    assert event["path"] == "/items/9"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["Cookie"] == "__Host-ciq_session=abc"
    assert event["multiValueHeaders"]["Cookie"] == ["__Host-ciq_session=abc"]
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["pathParameters"] == {"itemId": "9"}
    assert event["requestContext"]["resourcePath"] == "/items/{itemId}"
    # And it ran with its own service name and its own sibling module
    assert record["service"] == "authorizer"
    assert record["helper"] == "authorizer-helpers"


@pytest.mark.parametrize(
    ("token", "status", "kind", "code"),
    [
        (None, 401, "UNAUTHORIZED", "unauthorized"),
        ("Bearer nonsense", 401, "UNAUTHORIZED", "unauthorized"),
        ("Bearer deny", 403, "ACCESS_DENIED", "forbidden"),
        ("Bearer allow-other-route", 403, "ACCESS_DENIED", "forbidden"),
        ("Bearer boom", 503, "AUTHORIZER_FAILURE", "dependency_unavailable"),
    ],
)
def test_authorizer_outcomes_map_to_the_templates_gateway_responses(
    throwaway: Throwaway, token: str | None, status: int, kind: str, code: str
) -> None:
    # Given a protected route and an authorizer that raises Unauthorized, denies, allows another
    # route only, or fails
    headers = {"Authorization": token} if token else {}
    with throwaway.server.client() as client:
        # When the route is called
        response = client.get("/items", headers={**headers, "Origin": LOCAL_ORIGIN, "X-Trace": "t-1"})
    # Then the gateway answers with the template's response for that outcome
    assert response.status_code == status
    assert gateway_type(response) == kind
    assert body_of(response)["error"]["code"] == code
    # And with its header mappings: static values and method.request.header.*
    assert response.headers["access-control-allow-origin"] == LOCAL_ORIGIN
    assert response.headers["x-request-echo"] == "t-1"


def test_an_invalid_authorizer_response_is_a_configuration_error_rendered_by_default_5xx(
    throwaway: Throwaway,
) -> None:
    # Given an authorizer that returns no policy document (the template has no
    # AUTHORIZER_CONFIGURATION_ERROR response, so DEFAULT_5XX applies)
    with throwaway.server.client() as client:
        # When a protected route is called
        response = client.get("/items", headers={"Authorization": "Bearer malformed"})
    # Then it is API Gateway's 500, with $context variables substituted in the body template
    assert response.status_code == 500
    assert body_of(response) == {
        "error": {"code": "internal_error", "message": None, "type": "AUTHORIZER_CONFIGURATION_ERROR"}
    }


def test_a_preflight_skips_the_authorizer(throwaway: Throwaway) -> None:
    # Given /items, whose OPTIONS event has Authorizer NONE
    before = len(throwaway.authorizer_events())
    with throwaway.server.client() as client:
        # When a browser preflight comes without credentials
        response = client.options(
            "/items", headers={"Origin": LOCAL_ORIGIN, "Access-Control-Request-Method": "GET"}
        )
    # Then the function answered it and the authorizer was never called
    assert response.status_code == 204
    assert response.headers["access-control-allow-methods"] == "GET, OPTIONS"
    assert len(throwaway.authorizer_events()) == before


def test_gateway_cors_reflects_the_request_origin_as_api_gateway_does(throwaway: Throwaway) -> None:
    # Given GatewayResponseOrigin=reflect (method.request.header.Origin) and the local allow-list
    # (http://localhost:*, http://127.0.0.1:*)
    with throwaway.server.client() as client:
        # When the gateway answers requests from an allowed and a foreign origin, and without one
        allowed = client.get("/nowhere", headers={"Origin": "http://127.0.0.1:8080"})
        foreign = client.get("/nowhere", headers={"Origin": "https://evil.example"})
        without = client.get("/nowhere")
    # Then both origins are echoed, as API Gateway's mapping does (it cannot test a list), and a
    # request without Origin gets no Access-Control-Allow-Origin
    assert allowed.headers["access-control-allow-origin"] == "http://127.0.0.1:8080"
    assert foreign.headers["access-control-allow-origin"] == "https://evil.example"
    assert "access-control-allow-origin" not in without.headers


# --- responses -------------------------------------------------------------------------------


def test_headers_and_multi_value_headers_are_merged_with_every_set_cookie(throwaway: Throwaway) -> None:
    # Given a handler answering two cookies in multiValueHeaders and a third in headers
    with throwaway.server.client() as client:
        # When it is called
        response = client.get("/public/cookies")
    # Then all three Set-Cookie headers arrive separately, and the other headers too
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/; HttpOnly", "b=2; Path=/", "c=3; Path=/"]
    assert response.headers.get_list("x-multi") == ["x", "y"]
    assert response.headers["x-single"] == "one"
    # And Content-Type defaults to application/json as in API Gateway
    assert response.headers["content-type"] == "application/json"


def test_a_base64_gzip_response_reaches_the_client_as_gzip_bytes(throwaway: Throwaway) -> None:
    # Given a handler answering a base64-encoded gzip body with Content-Encoding: gzip
    with throwaway.server.client() as client:
        # When a client that accepts gzip fetches it (httpx decompresses transparently)
        response = client.get("/public/gzip", headers={"Accept-Encoding": "gzip"})
        # And raw
        with client.stream("GET", "/public/gzip") as raw:
            compressed = b"".join(raw.iter_raw())
    # Then the bytes on the wire are the gzip stream, not its base64 text
    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"big": "x" * 5000}
    assert json.loads(gzip.decompress(compressed)) == {"big": "x" * 5000}


def test_request_bodies_arrive_base64_encoded_as_with_binary_media_types(throwaway: Throwaway) -> None:
    # Given the API's BinaryMediaTypes */*
    payload = gzip.compress(b'{"hello": "world"}')
    with throwaway.server.client() as client:
        # When a gzip body and a JSON body are posted
        binary = event_of(client.post("/public/echo", content=payload, headers={"Content-Encoding": "gzip"}))
        text = event_of(client.post("/public/echo", json={"a": 1}))
    # Then both arrive base64-encoded and byte for byte
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == payload
    assert text["isBase64Encoded"] is True
    assert json.loads(base64.b64decode(text["body"])) == {"a": 1}


def test_a_chunked_request_body_is_read_whole(throwaway: Throwaway) -> None:
    # Given a client that streams its body with Transfer-Encoding: chunked
    def chunks() -> Any:
        yield b'{"part": '
        yield b'"one"}'

    with throwaway.server.client() as client:
        # When it posts
        event = event_of(client.post("/public/echo", content=chunks()))
    # Then the handler gets the whole body
    assert json.loads(base64.b64decode(event["body"])) == {"part": "one"}


FUNCTION_ERROR_502 = {
    "error": {"code": "internal_error", "message": "Internal server error", "type": "DEFAULT_5XX"}
}


def test_a_raising_handler_is_a_502_in_the_default_5xx_gateway_response(throwaway: Throwaway) -> None:
    # Given a handler that raises
    with throwaway.server.client() as client:
        # When it is called
        response = client.get("/public/boom")
    # Then API Gateway's 502 comes back in the template's DEFAULT_5XX shape (the contract's error
    # shape, not {"message": ...}), and the traceback went to the server's stderr
    assert response.status_code == 502
    assert response.json() == FUNCTION_ERROR_502
    assert response.headers["x-local-gateway-response"] == "DEFAULT_5XX"
    assert throwaway.server.wait_for_error("RuntimeError: the handler blew up"), throwaway.server.errors()


def test_a_malformed_proxy_response_is_a_502(throwaway: Throwaway) -> None:
    # Given a handler returning a dict body instead of a string
    with throwaway.server.client() as client:
        response = client.get("/public/malformed")
    # Then it is API Gateway's "Malformed Lambda proxy response" 502
    assert response.status_code == 502
    assert response.json() == FUNCTION_ERROR_502


def test_a_function_over_its_timeout_is_a_502(throwaway: Throwaway) -> None:
    # Given SlowFunction (Timeout: 1) that takes 1.3 s
    with throwaway.server.client() as client:
        response = client.get("/public/slow")
    # Then the answer is the 502 a timed-out Lambda gives, and the log says why
    assert response.status_code == 502
    assert throwaway.server.wait_for_output("Task timed out after 1 seconds"), throwaway.server.output()


def test_a_function_that_fails_to_import_answers_502_on_its_routes(throwaway: Throwaway) -> None:
    # Given BrokenFunction, whose module raises on import
    with throwaway.server.client() as client:
        response = client.get("/public/broken")
    # Then its route answers 502 and the start-up warned about it (the other functions still serve)
    assert response.status_code == 502
    assert "BrokenFunction did not load" in throwaway.server.errors()
    assert "ImportError: this function cannot start" in throwaway.server.errors()


# --- limits ----------------------------------------------------------------------------------


def test_a_body_over_10_mb_is_refused_with_request_too_large(throwaway: Throwaway) -> None:
    # Given API Gateway's 10 MB request limit
    with throwaway.server.client() as client:
        # When a body one byte over it is posted
        response = client.post("/public/echo", content=b"x" * (10 * 1024 * 1024 + 1))
    # Then the template's REQUEST_TOO_LARGE response comes back
    assert response.status_code == 413
    assert gateway_type(response) == "REQUEST_TOO_LARGE"
    assert body_of(response)["error"]["code"] == "payload_too_large"


def test_a_body_whose_event_exceeds_lambdas_6_mb_invoke_limit_is_refused(throwaway: Throwaway) -> None:
    # Given a 5 MB body: under API Gateway's 10 MB, but base64 in the event makes it ~6.7 MB
    with throwaway.server.client() as client:
        response = client.post("/public/echo", content=b"x" * (5 * 1024 * 1024))
        # And a 4 MB body, whose event stays under 6 MB
        fits = client.post("/public/echo", content=b"x" * (4 * 1024 * 1024))
    # Then the first never reaches the function; the second does
    assert response.status_code == 413
    assert fits.status_code == 200


def test_every_request_is_logged_with_method_path_status_and_time(throwaway: Throwaway) -> None:
    # Given the running server
    with throwaway.server.client() as client:
        # When a request is served
        client.get("/public/echo?secret=1")
    # Then its log line has the method, the path without the query, the status and milliseconds
    assert any(
        line.startswith("GET /public/echo 200 ") and line.rstrip().endswith("ms")
        for line in throwaway.server.stdout
    )
