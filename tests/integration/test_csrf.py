"""CSRF defence of every state-changing route (CONTRACT §11 "CSRF", docs/ops/security.md): a body not
declared `application/json` is 415 `unsupported_media_type`, and a cookie-authenticated write from an
Origin outside the stage's allow-list is 403 `forbidden`. Through the real handlers with the routes'
real API Gateway events (which carry the session cookie and the app's Origin)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from local.events import with_body
from tests.conftest import APP_ORIGIN, api_event, invoke, load_function
from tests.integration.conftest import stored_items

if TYPE_CHECKING:
    from collections.abc import Iterator

EVIL_ORIGIN = "https://evil.example"
# (function, sample event, path parameters) of every state-changing route.
WRITE_ROUTES = [
    ("auth", "auth-sign-up", None),
    ("auth", "auth-sign-in", None),
    ("auth", "auth-verify", None),
    ("auth", "auth-sign-out", None),
    ("user_data", "user-data-post", None),
    ("user_data", "user-data-put", None),
    ("setup_status", "setup-status-patch", None),
    ("live_agents", "live-agents-create", None),
    ("live_agents", "live-agents-update", {"agentId": "agent-default-1"}),
    ("live_agents", "live-agents-delete", {"agentId": "agent-default-1"}),
]
# A workspace.create whose JSON survives an HTML form with enctype="text/plain" (name=value pairs).
FORGED_JSON = '{"type": "workspace.create", "name": "Forged", "x": "=y"}'


@pytest.fixture
def user_id(aws: None) -> Iterator[str]:
    from tests.integration.conftest import create_user

    yield create_user()


def _event(sample: str, path: dict[str, str] | None, user_id: str, headers: dict[str, str | None]) -> Any:
    """The sample event with headers replaced (None drops a header), as API Gateway sends it."""
    event = api_event(sample, user_id=user_id, path_parameters=path)
    merged = {k: v for k, v in event["headers"].items() if k.lower() not in {h.lower() for h in headers}}
    merged.update({k: v for k, v in headers.items() if v is not None})
    event["headers"] = merged
    event["multiValueHeaders"] = {k: [v] for k, v in merged.items()}
    return event


def _call(function: str, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    return invoke(load_function(function), event)


def _route_id(route: tuple[str, str, Any]) -> str:
    return route[1]


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=_route_id)
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=----x",
        "application/jsonx",
        None,  # a body without any Content-Type
    ],
)
def test_a_write_whose_body_is_not_declared_json_is_415(
    user_id: str, route: tuple[str, str, Any], content_type: str | None
) -> None:
    # Given a write with a body a form could send, from the app's own origin with the cookie
    function, sample, path = route
    event = _event(sample, path, user_id, {"Content-Type": content_type, "Authorization": None})
    with_body(event, FORGED_JSON)
    before = stored_items(user_id)
    # When it is sent
    status, headers, body = _call(function, event)
    # Then it is 415 unsupported_media_type, in the error shape, and nothing is stored
    assert (status, body["error"]["code"]) == (415, "unsupported_media_type"), body
    assert headers["Content-Type"] == "application/json"
    assert stored_items(user_id) == before


def test_a_forged_text_plain_workspace_create_creates_nothing(user_id: str) -> None:
    # Given the form-shaped body that created a workspace in the review
    event = _event("user-data-post", None, user_id, {"Content-Type": "text/plain", "Idempotency-Key": None})
    with_body(event, FORGED_JSON)
    # When it is posted with the cookie
    status, _, _ = _call("user_data", event)
    # Then it is refused, and the same JSON declared as JSON is accepted (the check is the media type)
    assert status == 415
    good = _event(
        "user-data-post",
        None,
        user_id,
        {"Content-Type": "Application/JSON; charset=utf-8", "Idempotency-Key": None},
    )
    with_body(good, json.dumps({"type": "workspace.create", "name": "Real"}))
    status, _, body = _call("user_data", good)
    assert status == 200, body
    names = [w["name"] for w in body["data"]["workspaces"]]
    assert "Real" in names and "Forged" not in names


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=_route_id)
@pytest.mark.parametrize("origin", [EVIL_ORIGIN, "null", "https://app.example.com.evil.example"])
def test_a_cookie_authenticated_write_from_a_foreign_origin_is_403(
    user_id: str, route: tuple[str, str, Any], origin: str
) -> None:
    # Given a write that the session cookie authenticates (no Bearer header), from another origin
    function, sample, path = route
    event = _event(
        sample,
        path,
        user_id,
        {"Origin": origin, "Authorization": None, "Cookie": "__Host-ciq_session=t0ken"},
    )
    before = stored_items(user_id)
    # When it is sent
    status, _, body = _call(function, event)
    # Then it is 403 forbidden and nothing is stored
    assert (status, body["error"]["code"]) == (403, "forbidden"), body
    assert stored_items(user_id) == before


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=_route_id)
def test_the_origin_check_applies_only_when_the_cookie_authenticates(
    user_id: str, route: tuple[str, str, Any]
) -> None:
    # Given a write from a foreign origin that authenticates with a Bearer header, or carries no cookie
    function, sample, path = route
    for headers in (
        {"Origin": EVIL_ORIGIN, "Authorization": "Bearer t0ken"},
        {"Origin": EVIL_ORIGIN, "Authorization": None, "Cookie": None},
        {"Origin": APP_ORIGIN, "Authorization": None},  # the cookie from the app's own origin
        {"Origin": None, "Authorization": None},  # no Origin at all (not a browser's cross-site write)
    ):
        event = _event(sample, path, user_id, headers)
        # When it is sent
        status, _, body = _call(function, event)
        # Then the CSRF check lets it through (whatever the route then answers, it is not this 403)
        assert status not in {403, 415}, (headers, body)


def test_reads_and_preflights_are_not_checked(user_id: str) -> None:
    # Given a GET with the cookie from a foreign origin and a text/plain Content-Type
    event = _event("user-data-get", None, user_id, {"Origin": EVIL_ORIGIN, "Content-Type": "text/plain"})
    # When it is sent; Then it is answered (CORS keeps the answer from the foreign page)
    status, headers, _ = _call("user_data", event)
    assert status == 200
    assert "Access-Control-Allow-Origin" not in headers
