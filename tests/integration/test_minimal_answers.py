"""Minimal answers (CONTRACT §11 "Cheap reads"): `Prefer: return=minimal` on a write answers the
changed entities, the removed ids and the version; a client applying that delta to the data it held
has exactly what a full read then returns (docs/api/user-data.md "Minimal answers")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciq.domain.delta import apply_delta
from tests.integration.conftest import COMPLETE_DRAFT, Client, create_user

if TYPE_CHECKING:
    from types import ModuleType

MINIMAL = {"Prefer": "return=minimal"}


def minimal_write(client: Client, body: Any, **headers: str) -> dict[str, Any]:
    status, response_headers, answer = client.post(body, headers={**MINIMAL, **headers})
    assert status == 200, answer
    assert response_headers["ETag"] == f'"{answer["version"]}"'
    return answer  # type: ignore[no-any-return]


def test_a_create_answers_the_new_entities_and_the_version(client: Client) -> None:
    # Given a user holding their data at some version
    before, version = client.data()
    # When they create a workspace asking for a minimal answer
    answer = minimal_write(client, {"type": "workspace.create", "id": "ws-spring", "name": "Spring"})
    # Then the answer is the delta: the workspace with its KB and agent, nothing removed
    assert set(answer) == {"changed", "removed", "baseVersion", "version", "results"}
    assert (answer["baseVersion"], answer["version"]) == (version, version + 1)
    assert [w["id"] for w in answer["changed"]["workspaces"]] == ["ws-spring"]
    assert len(answer["changed"]["knowledgeBases"]) == len(answer["changed"]["agents"]) == 1
    assert answer["removed"] == []
    [result] = answer["results"]
    assert (result["type"], result["id"]) == ("workspace.create", "ws-spring")
    # And applying it to what the client held gives exactly what a read returns
    assert apply_delta(before, answer) == client.data()[0]


def test_a_cascade_and_a_reorder_answer_removed_ids_and_the_order(client: Client) -> None:
    # Given two extra workspaces
    client.ok({"type": "workspace.create", "id": "ws-a", "name": "A"},
              {"type": "workspace.create", "id": "ws-b", "name": "B"})  # fmt: skip
    before, _ = client.data()
    removed_kbs = {kb["id"] for kb in before["knowledgeBases"] if kb["workspaceId"] == "ws-a"}
    # When one is deleted and the rest reordered, in one batch
    answer = minimal_write(client, {"mutations": [
        {"type": "workspace.delete", "workspaceId": "ws-a"},
        {"type": "workspace.reorder", "workspaceIds": ["ws-b", "ws-1"]},
    ]})  # fmt: skip
    # Then the workspace and everything it held are removed ids, and the new order is given
    assert "ws-a" in answer["removed"]
    assert removed_kbs <= set(answer["removed"])
    assert answer["order"]["workspaces"] == ["ws-b", "ws-1"]
    assert apply_delta(before, answer) == client.data()[0]


def test_an_unchanged_entity_is_not_sent(client: Client) -> None:
    # Given a KB edit that changes nothing else
    before, _ = client.data()
    answer = minimal_write(client, {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1",
                                    "draft": COMPLETE_DRAFT})  # fmt: skip
    # Then only what changed is sent: the KB (now complete) and its agent (status derived from it)
    assert set(answer["changed"]) <= {"knowledgeBases", "agents", "workspaces"}
    assert [kb["id"] for kb in answer["changed"]["knowledgeBases"]] == ["kb-default-1"]
    assert "connections" not in answer["changed"] and "groups" not in answer["changed"]
    assert apply_delta(before, answer) == client.data()[0]


@pytest.mark.parametrize(
    ("prefer", "minimal"),
    [("return=minimal", True), ('respond-async, RETURN="minimal"', True), ("return=minimal; x=y", True),
     ("return=representation", False), ("", False), ("minimal", False)],
)  # fmt: skip
def test_only_return_minimal_asks_for_a_minimal_answer(client: Client, prefer: str, minimal: bool) -> None:
    client.data()
    status, _, answer = client.post({"type": "group.create", "name": "G"}, headers={"Prefer": prefer})
    assert status == 200, answer
    assert ("changed" in answer, "data" in answer) == (minimal, not minimal)


def test_an_import_can_answer_minimally(client: Client) -> None:
    before, _ = client.data()
    status, _, answer = client.put({"data": {"workspaces": [{"id": "ws-imported", "name": "Imported"}]}},
                                   headers=MINIMAL)  # fmt: skip
    assert status == 200, answer
    assert "ws-1" in answer["removed"]
    assert apply_delta(before, answer) == client.data()[0]


# Random sequences of writes: the delta always takes the held data to what a read returns.
_MUTATIONS = st.sampled_from([
    {"type": "workspace.create", "name": "W"},
    {"type": "workspace.duplicate", "workspaceId": "ws-1"},
    {"type": "knowledgeBase.create", "workspaceId": "ws-1"},
    {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT},
    {"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "A"},
    {"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat", "label": "Chat"},
    {"type": "connection.create", "workspaceId": "ws-1", "family": "social-comments", "platform": "facebook",
     "knowledgeBaseId": "kb-default-1"},
    {"type": "group.create", "name": "G"},
    {"type": "profile.update", "company": "Renamed Co"},
    {"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {"n1": {"x": 1, "y": 2}}},
])  # fmt: skip


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_MUTATIONS, min_size=1, max_size=4))
def test_any_sequence_of_minimal_answers_keeps_the_client_in_step(
    user_data: ModuleType, steps: list[dict[str, Any]]
) -> None:
    client = Client(user_data, create_user())
    held, _ = client.data()
    for mutation in steps:
        status, _, answer = client.post(mutation, headers=MINIMAL)
        if status != 200:  # refused (e.g. a rule of the account): nothing to apply
            continue
        held = apply_delta(held, answer)
    assert held == client.data()[0]
