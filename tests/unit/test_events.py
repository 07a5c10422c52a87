"""events/*.json are what API Gateway sends with this template: BinaryMediaTypes */* makes every
request body base64 (isBase64Encoded true), a request without a body has null; and every event
reaches a function of template.yaml (`python -m local.invoke` finds it the same way)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest

from local.config import parameter_values, pseudo_parameters
from local.events import TEMPLATE_BINARY_MEDIA_TYPES, body_text, with_body
from local.intrinsics import Resolver
from local.invoke import function_for
from local.stack import read_stack, resource_references
from local.template import ROOT, load_template

if TYPE_CHECKING:
    from pathlib import Path

EVENTS = sorted((ROOT / "events").glob("*.json"))
# REST proxy events (a WebSocket route's event has `requestContext.eventType` and no body on connect).
PROXY_EVENTS = [
    path
    for path in EVENTS
    if "isBase64Encoded" in (event := json.loads(path.read_text()))
    and "eventType" not in event["requestContext"]
]


def load(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text())
    return event


def test_the_binary_media_types_are_the_templates() -> None:
    api = load_template()["Resources"]["Api"]["Properties"]
    assert tuple(t.replace("~1", "/") for t in api["BinaryMediaTypes"]) == TEMPLATE_BINARY_MEDIA_TYPES


@pytest.mark.parametrize("path", PROXY_EVENTS, ids=lambda p: p.stem)
def test_a_body_is_base64_as_api_gateway_sends_it_and_no_body_is_null(path: Path) -> None:
    event = load(path)
    if event["body"] is None:
        assert event["isBase64Encoded"] is False
        return
    assert event["isBase64Encoded"] is True
    decoded = base64.b64decode(event["body"], validate=True).decode("utf-8")
    assert json.loads(decoded) is not None  # every sample body is the JSON a client sends
    assert body_text(event) == decoded
    # And re-encoding the text gives the file's body back (the helpers the tests use)
    assert with_body(dict(event), decoded)["body"] == event["body"]


def test_an_empty_body_becomes_null_like_api_gateway_sends_it() -> None:
    event = with_body(load(ROOT / "events/auth-sign-up.json"), "")
    assert (event["body"], event["isBase64Encoded"]) == (None, False)


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_every_event_reaches_a_function_of_the_template(path: Path) -> None:
    template = load_template()
    parameters = parameter_values(template, {})
    base = Resolver(parameters, pseudo_parameters("us-east-1"), conditions=template.get("Conditions") or {})
    stack = read_stack(template, resource_references(template, base, "us-east-1"), ROOT)
    function = function_for(stack, load(path))
    assert function in stack.functions
    assert (function == "AuthorizerFunction") is (path.stem == "authorizer-request")
    assert (function == "LiveNotifyFunction") is (path.stem == "live-notify-stream")
