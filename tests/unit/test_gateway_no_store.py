"""API Gateway's own answers (template.yaml GatewayResponses) carry `Cache-Control: no-store` like
every answer of the functions (docs/api/auth.md): the authorizer's 401 included."""

from __future__ import annotations

import pytest

from local.events import IncomingRequest
from local.gateway_responses import DEFAULTS, gateway_response
from local.openapi import read_template_stack

STACK = read_template_stack()
API = next(iter(STACK.apis.values()))


@pytest.mark.parametrize("kind", sorted(DEFAULTS))
def test_every_gateway_answer_is_never_cached(kind: str) -> None:
    # Given a request the gateway answers itself (no session, throttled, too large, ...)
    incoming = IncomingRequest(
        method="GET",
        path="/api/user-data",
        query="",
        headers=[("Host", "localhost:4000"), ("Origin", "http://localhost:5173")],
        body=b"",
        source_ip="127.0.0.1",
    )
    # When the local run renders the template's GatewayResponse for it
    answer = gateway_response(API, kind, incoming, ("http://localhost:*",))
    # Then the answer says not to cache it
    assert answer.header("Cache-Control") == "no-store", kind
