"""Hostile input on every route answers its documented 4xx, never a 5xx (issue 10, item 6;
docs/ops/security.md "Second review"): JSON integers past Python's 4,300-digit limit, import
timestamps that overflow when shifted to UTC, non-ASCII digits in `If-Match`, and a JSON body that is
not an object where one is expected. Each case goes through the real handler with the route's real
API Gateway event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import api_event, invoke, load_function
from tests.integration.conftest import create_user

if TYPE_CHECKING:
    from collections.abc import Iterator

# (function, sample event, path parameters) of every route that takes a JSON object body.
OBJECT_BODY_ROUTES = [
    ("auth", "auth-sign-up", None),
    ("auth", "auth-sign-in", None),
    ("auth", "auth-verify", None),
    ("user_data", "user-data-post", None),
    ("user_data", "user-data-put", None),
    ("setup_status", "setup-status-patch", None),
    ("live_agents", "live-agents-create", None),
    ("live_agents", "live-agents-update", {"agentId": "agent-default-1"}),
]
# (function, sample event, path parameters) of every route that honours If-Match.
IF_MATCH_ROUTES = [
    ("user_data", "user-data-post", None),
    ("user_data", "user-data-put", None),
    ("setup_status", "setup-status-patch", None),
    ("live_agents", "live-agents-create", None),
    ("live_agents", "live-agents-update", {"agentId": "agent-default-1"}),
    ("live_agents", "live-agents-delete", {"agentId": "agent-default-1"}),
]
HUGE_INTEGER = "9" * 5000  # json.loads raises ValueError past 4,300 digits


@pytest.fixture
def user_id(aws: None) -> Iterator[str]:
    yield create_user()


def _call(
    function: str, sample: str, path: dict[str, str] | None, user_id: str, **changes: Any
) -> tuple[int, dict[str, str], Any]:
    event = api_event(sample, user_id=user_id, path_parameters=path, **changes)
    return invoke(load_function(function), event)


def _route_id(route: tuple[str, str, Any]) -> str:
    return route[1]


@pytest.mark.parametrize("route", OBJECT_BODY_ROUTES, ids=_route_id)
@pytest.mark.parametrize(
    "raw_body",
    [
        "[]",
        '[{"type": "workspace.create", "name": "A"}]',
        '"a string"',
        "42",
        "null",
        "true",
    ],
)
def test_a_json_body_that_is_not_an_object_is_400_invalid_json(
    user_id: str, route: tuple[str, str, Any], raw_body: str
) -> None:
    # Given a route that expects a JSON object
    function, sample, path = route
    # When the body is valid JSON of another kind
    status, _, body = _call(function, sample, path, user_id, raw_body=raw_body)
    # Then it is 400 invalid_json, as docs/api/errors.md says (not 422)
    assert (status, body["error"]["code"]) == (400, "invalid_json"), body


@pytest.mark.parametrize("route", OBJECT_BODY_ROUTES, ids=_route_id)
@pytest.mark.parametrize("where", ["value", "nested", "top"])
def test_a_json_integer_over_4300_digits_is_400_invalid_json(
    user_id: str, route: tuple[str, str, Any], where: str
) -> None:
    # Given a body holding an integer Python refuses to convert
    function, sample, path = route
    raw_body = {
        "value": f'{{"email": {HUGE_INTEGER}, "code": {HUGE_INTEGER}, "type": {HUGE_INTEGER}}}',
        "nested": f'{{"data": {{"schemaVersion": {HUGE_INTEGER}}}, "mutations": [{HUGE_INTEGER}]}}',
        "top": HUGE_INTEGER,
    }[where]
    # When it is sent
    status, _, body = _call(function, sample, path, user_id, raw_body=raw_body)
    # Then it is bad input, not a 500
    assert (status, body["error"]["code"]) == (400, "invalid_json"), body


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_400_invalid_json(user_id: str, constant: str) -> None:
    # Given a body with a constant JSON does not define (Python's parser accepts it by default)
    positions = f'{{"a": {{"x": {constant}, "y": 0}}}}'
    raw_body = f'{{"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {positions}}}'
    # When it is posted
    status, _, body = _call("user_data", "user-data-post", None, user_id, raw_body=raw_body)
    # Then it is refused as invalid JSON before any rule sees a NaN or an infinity
    assert (status, body["error"]["code"]) == (400, "invalid_json"), body


@pytest.mark.parametrize("route", IF_MATCH_ROUTES, ids=_route_id)
@pytest.mark.parametrize("if_match", ["²", '"²"', 'W/"١٢"', "7" * 5000, "-1", "+3", " "])
def test_an_if_match_that_is_not_ascii_digits_is_412(
    user_id: str, route: tuple[str, str, Any], if_match: str
) -> None:
    # Given a write route and an If-Match that no ETag of this API looks like (`isdigit` accepts
    # "²" and Arabic-Indic digits, which int() then refuses or reads as another number)
    function, sample, path = route
    # When it is sent
    status, _, body = _call(function, sample, path, user_id, headers={"If-Match": if_match})
    # Then it is the documented 412 version_mismatch, never a 500
    assert (status, body["error"]["code"]) == (412, "version_mismatch"), body


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:00:00+01:00",  # shifted to UTC: before year 1
        "9999-12-31T23:59:59.999-01:00",  # shifted to UTC: after year 9999
        "0001-01-01T00:30:00+14:00",
    ],
)
def test_import_timestamps_that_overflow_in_utc_are_dropped_not_500(user_id: str, timestamp: str) -> None:
    # Given an import whose workspace timestamps overflow when shifted to UTC
    document = {
        "data": {
            "schemaVersion": 2,
            "workspaces": [{"id": "ws-old", "name": "Old", "createdAt": timestamp, "updatedAt": timestamp}],
        }
    }
    # When it is imported
    status, _, body = _call("user_data", "user-data-put", None, user_id, body=document)
    # Then the unusable timestamps are treated like any unparseable one (replaced), and the import lands
    assert status == 200, body
    (workspace,) = [w for w in body["data"]["workspaces"] if w["id"] == "ws-old"]
    assert workspace["createdAt"].endswith("Z") and not workspace["createdAt"].startswith(timestamp[:4])
