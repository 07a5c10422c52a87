"""Conditional GETs (CONTRACT §11 "Cheap reads"): every GET honours `If-None-Match` with 304, reading
only the root item when the version alone answers."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import load_function
from tests.integration.conftest import create_user
from tests.integration.live_agents_support import LiveClient

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import Client, SetupClient


@contextmanager
def dynamodb_calls() -> Iterator[list[str]]:
    """The DynamoDB operations the store makes while the block runs."""
    from ciq.store.clients import dynamodb

    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = dynamodb().meta.events
    events.register("before-call.dynamodb", record)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", record)


def test_a_held_version_is_a_304_from_the_root_item_alone(client: Client) -> None:
    # Given a user who read their data (version 1)
    _, version = client.data()
    # When the app asks again with the ETag it holds
    with dynamodb_calls() as calls:
        status, headers, body = client.get(headers={"If-None-Match": f'"{version}"'})
    # Then the answer is 304 with the ETag and no body, after one GetItem and no Query
    assert (status, body) == (304, None)
    assert headers["ETag"] == f'"{version}"'
    assert headers["Cache-Control"] == "no-store"
    assert "Content-Type" not in headers
    assert calls == ["GetItem"]


@pytest.mark.parametrize("header", ['W/"{v}"', '"99", "{v}"', "*"])
def test_weak_tags_lists_and_star_match(client: Client, header: str) -> None:
    _, version = client.data()
    status, _, _ = client.get(headers={"If-None-Match": header.format(v=version)})
    assert status == 304


def test_a_stale_version_gets_the_full_answer(client: Client) -> None:
    # Given a client holding version 1 while the account moved on
    _, version = client.data()
    client.ok({"type": "workspace.create", "name": "Elsewhere"})
    # When it asks with its old ETag
    status, headers, body = client.get(headers={"If-None-Match": f'"{version}"'})
    # Then it gets the whole new data and the new ETag
    assert status == 200
    assert headers["ETag"] == f'"{version + 1}"'
    assert [w["name"] for w in body["data"]["workspaces"]] == ["My Workspace", "Elsewhere"]


@pytest.mark.parametrize("header", ["7", '"abc"', '"1", junk', '"²"', ""])
def test_an_if_none_match_that_is_not_our_etags_is_ignored(client: Client, header: str) -> None:
    # Given a header this API never sent (or a malformed list)
    client.data()
    # When the app sends it; Then the full answer comes back, never an error
    status, _, body = client.get(headers={"If-None-Match": header})
    assert status == 200
    assert body["version"] == 1


def test_a_new_user_cannot_hold_version_0_of_user_data(client: Client) -> None:
    # Given a new user whose defaults are not stored yet (version 0)
    # When the app sends If-None-Match "0" (or *) before any read
    status, headers, body = client.get(headers={"If-None-Match": '"0"'})
    # Then it gets the full first read, which stores the defaults
    assert (status, headers["ETag"], body["version"]) == (200, '"1"', 1)


def test_setup_status_answers_304_for_version_0(setup_client: SetupClient) -> None:
    # Given a new user whose setup status is computed from defaults (ETag "0", nothing stored)
    _, version = setup_client.status()
    assert version == 0
    # When the app asks with that ETag
    with dynamodb_calls() as calls:
        status, headers, body = setup_client.request("GET", headers={"If-None-Match": '"0"'})
    # Then it is a 304 from the root item alone
    assert (status, headers["ETag"], body) == (304, '"0"', None)
    assert calls == ["GetItem"]


def test_live_agents_in_store_mode_answers_304(moto_table: None) -> None:
    lc = LiveClient(load_function("live_agents"), create_user())
    listed_status, headers, _ = lc.call("GET")
    assert listed_status == 200
    # When the list is asked again with its ETag
    with dynamodb_calls() as calls:
        status, again, body = lc.call("GET", headers={"If-None-Match": headers["ETag"]})
    # Then it is a 304 from the root item alone
    assert (status, again["ETag"], body) == (304, headers["ETag"], None)
    assert calls == ["GetItem"]
    # And with a workspace filter the full read runs (it must check the workspace), still a 304
    held = {"If-None-Match": headers["ETag"]}
    status, _, body = lc.call("GET", headers=held, query={"workspaceId": "ws-1"})
    assert (status, body) == (304, None)
