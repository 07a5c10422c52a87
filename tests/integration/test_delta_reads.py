"""Delta reads (CONTRACT §11 "Cheap reads"): `GET /api/user-data?since=<version>` answers what changed
after that version; a client applying it to the data it held at `since` has exactly what a full
read returns (docs/api/user-data.md "Delta reads")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciq.domain.delta import apply_workspace_delta
from tests.conftest import api_event, invoke
from tests.integration.conftest import COMPLETE_DRAFT, Client, create_user

if TYPE_CHECKING:
    from types import ModuleType


def read_since(
    client: Client, since: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    event = api_event("user-data-get", user_id=client.user_id, query={"since": since}, headers=headers)
    return invoke(client.module, event)


def delta(client: Client, since: int) -> dict[str, Any]:
    status, headers, answer = read_since(client, str(since))
    assert status == 200, answer
    assert headers["ETag"] == f'"{answer["version"]}"'
    return answer  # type: ignore[no-any-return]


def test_a_delta_carries_only_the_changed_workspace(client: Client) -> None:
    # Given a user with two workspaces, holding their data at some version
    client.ok({"type": "workspace.create", "id": "ws-a", "name": "A"})
    held, version = client.data()
    # When another tab renames the default KB of ws-1
    client.ok({"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "name": "Renamed"})
    # Then the delta from the held version carries ws-1 with all its children, not ws-a
    answer = delta(client, version)
    assert (answer["baseVersion"], answer["version"]) == (version, version + 1)
    assert [w["id"] for w in answer["workspaces"]] == ["ws-1"]
    assert {kb["workspaceId"] for kb in answer["knowledgeBases"]} == {"ws-1"}
    assert answer["workspaceOrder"] == ["ws-1", "ws-a"]
    assert "full" not in answer
    # And applying it gives what a full read returns
    assert apply_workspace_delta(held, answer) == client.data()[0]


def test_a_deleted_workspace_is_dropped_by_the_workspace_order(client: Client) -> None:
    # Given a held workspace
    client.ok({"type": "workspace.create", "id": "ws-a", "name": "A"})
    held, version = client.data()
    # When it is deleted elsewhere
    client.ok({"type": "workspace.delete", "workspaceId": "ws-a"})
    answer = delta(client, version)
    # Then it is absent from the order, and the client drops it and its children
    assert answer["workspaceOrder"] == ["ws-1"] and answer["workspaces"] == []
    after = apply_workspace_delta(held, answer)
    assert after == client.data()[0]
    assert all(kb["workspaceId"] == "ws-1" for kb in after["knowledgeBases"])


def test_the_current_version_answers_an_empty_delta_and_if_none_match_a_304(client: Client) -> None:
    held, version = client.data()
    answer = delta(client, version)
    assert answer["workspaces"] == [] and answer["knowledgeBases"] == []
    assert apply_workspace_delta(held, answer) == held
    status, headers, _ = read_since(client, str(version), {"If-None-Match": f'"{version}"'})
    assert (status, headers["ETag"]) == (304, f'"{version}"')


def test_a_version_from_the_future_asks_for_a_full_read(client: Client) -> None:
    _, version = client.data()
    assert delta(client, version + 5) == {"full": True, "version": version}


def test_a_new_account_asks_for_a_full_read_which_stores_the_defaults(client: Client) -> None:
    # Given a just-verified user (version 0, no defaults stored yet)
    # When the client asks for a delta from 0, then it is told to read in full
    assert delta(client, 0) == {"full": True, "version": 0}


def test_a_malformed_since_is_422(client: Client) -> None:
    client.data()
    for since in ("abc", "-1", "1.5", "", "²", "9" * 19):
        status, _, answer = read_since(client, since)
        assert (status, answer["error"]["code"]) == (422, "validation_failed"), since
        assert answer["error"]["details"][0]["path"] == "/since"


# Random sequences of writes: every held version catches up with one delta read.
_MUTATIONS = st.sampled_from([
    {"type": "workspace.create", "name": "W"},
    {"type": "workspace.create", "id": "ws-x", "name": "X"},
    {"type": "workspace.delete", "workspaceId": "ws-x"},
    {"type": "workspace.duplicate", "workspaceId": "ws-1"},
    {"type": "workspace.update", "workspaceId": "ws-1", "name": "Renamed"},
    {"type": "knowledgeBase.create", "workspaceId": "ws-1"},
    {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT},
    {"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "A"},
    {"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat", "label": "Chat"},
    {"type": "group.create", "name": "G"},
    {"type": "profile.update", "company": "Renamed Co"},
    {"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {"n1": {"x": 1, "y": 2}}},
])  # fmt: skip


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_MUTATIONS, min_size=1, max_size=6), reorder=st.booleans())
def test_any_held_version_catches_up_with_one_delta_read(
    user_data: ModuleType, steps: list[dict[str, Any]], reorder: bool
) -> None:
    # Given the full read at every version a random sequence of writes goes through
    client = Client(user_data, create_user())
    data, version = client.data()
    held = {version: data}
    for mutation in steps:
        client.post(mutation)  # a refused one (a rule of the account) changes nothing
        if reorder:
            order = [w["id"] for w in client.data()[0]["workspaces"]][::-1]
            client.post({"type": "workspace.reorder", "workspaceIds": order})
        data, version = client.data()
        held[version] = data
    # Then a delta from each of them, applied to what was held, is the current full read
    for since, data in held.items():
        answer = delta(client, since)
        assert answer["version"] == version
        assert apply_workspace_delta(data, answer) == held[version], since
