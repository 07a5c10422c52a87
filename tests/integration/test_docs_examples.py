"""Every `<!-- example -->` in the API docs is executed, in order, against a fresh account, so the
docs cannot drift from what the API answers. In an expected body an object lists only the fields it
checks, "…" matches any value, and a list ending in "…" may continue."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from ciq.contracts.entities import Profile
from ciq.domain.account import Account
from ciq.store import dynamo, user_store
from local.events import with_body
from tests.conftest import ROOT, api_event, invoke, load_function

ANY = "…"
EXAMPLE = re.compile(r"<!-- example -->\s*```http\n(.*?)```\s*```http\n(.*?)```", re.S)
USER_DATA = {"/api/user-data": ("user_data", "user-data-get")}
PAGES = {
    "docs/api/user-data.md": USER_DATA,
    # Setup-status examples also train the KB and show the shared connections through /api/user-data.
    "docs/api/setup-status.md": {"/api/setup-status": ("setup_status", "setup-status-get"), **USER_DATA},
    # Live-agents examples also show an agent edited through /api/user-data.
    "docs/api/live-agents.md": {
        "/api/live-agents": ("live_agents", "live-agents-list"),
        "/api/live-agents/{agentId}": ("live_agents", "live-agents-list"),
        **USER_DATA,
    },
}


def resolve(routes: dict[str, tuple[str, str]], target: str) -> tuple[str, str, dict[str, str] | None]:
    """The route of a documented request target (its real path, maybe with a query): the resource,
    the path and the path parameters, as API Gateway would put them in the event."""
    path = urlsplit(target).path
    for resource in routes:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(resource))
        if found := re.fullmatch(pattern, path):
            return resource, path, found.groupdict() or None
    raise AssertionError(f"no route for {target}")


def parse_request(text: str) -> tuple[str, str, dict[str, str], Any]:
    head, _, body = text.partition("\n\n")
    first, *header_lines = head.strip().splitlines()
    method, path = first.split()
    headers = dict(line.split(": ", 1) for line in header_lines)
    return method, path, headers, json.loads(body) if body.strip() else None


def parse_response(text: str) -> tuple[int, dict[str, str], Any]:
    head, _, body = text.partition("\n\n")
    first, *header_lines = head.strip().splitlines()
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(first), headers, json.loads(body) if body.strip() else None


def matches(expected: Any, actual: Any, where: str = "") -> list[str]:
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        problems = [f"{where}/{k}: missing" for k in expected if k not in actual]
        for key, value in expected.items():
            if key in actual:
                problems += matches(value, actual[key], f"{where}/{key}")
        return problems
    if isinstance(expected, list):
        open_ended = bool(expected) and expected[-1] == ANY
        items = expected[:-1] if open_ended else expected
        if (
            not isinstance(actual, list)
            or (len(actual) != len(items) and not open_ended)
            or len(actual) < len(items)
        ):
            return [
                f"{where}: expected {len(items)} items{' or more' if open_ended else ''}, got {actual!r}"[
                    :300
                ]
            ]
        return [p for i, item in enumerate(items) for p in matches(item, actual[i], f"{where}/{i}")]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def examples(page: str) -> list[tuple[str, str]]:
    found = EXAMPLE.findall((ROOT / page).read_text())
    assert found, f"{page} has no executable examples"
    return found


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_example_is_what_the_api_answers(aws: None, page: str) -> None:
    # Given a fresh, verified account
    user_id = "u-docs"
    profile = Profile(user_id=user_id, email="docs@example.com", created_at="2026-11-25T12:00:00.000Z")
    dynamo.transact([user_store.new_user_item(Account(user_id=user_id, profile=profile))])
    for number, (request_text, response_text) in enumerate(examples(page), start=1):
        method, path, headers, body = parse_request(request_text)
        status, expected_headers, expected_body = parse_response(response_text)
        resource, real_path, path_parameters = resolve(PAGES[page], path)
        function, event_name = PAGES[page][resource]
        query = dict(parse_qsl(urlsplit(path).query))
        # When the documented request is sent
        event = api_event(event_name, method=method, headers=headers, user_id=user_id)
        with_body(event, None if body is None else json.dumps(body))
        event["resource"], event["path"], event["pathParameters"] = resource, real_path, path_parameters
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
        actual_status, actual_headers, actual_body = invoke(load_function(function), event)
        # Then the documented answer comes back
        where = f"{Path(page).name} example {number} ({method} {path})"
        assert actual_status == status, f"{where}: status {actual_status}: {actual_body}"
        for name, value in expected_headers.items():
            assert actual_headers.get(name) == value, f"{where}: header {name}: {actual_headers.get(name)!r}"
        problems = matches(expected_body, actual_body) if expected_body is not None else []
        assert not problems, f"{where}:\n" + "\n".join(problems)
