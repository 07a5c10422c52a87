"""GET /api/user-data: the first read creates the canonical defaults once; later reads hydrate
without writing; an old stored account is backfilled once (CONTRACT §1, §3, §4, §10 "Reads")."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from tests import user_data_service
from tests.integration.conftest import Client, create_user, kb, store_legacy_account, stored_items

if TYPE_CHECKING:
    from types import ModuleType

SEED_DESCRIPTION = (
    "This first workspace. A default knowledge base is already connected and must be configured "
    "for AI to work."
)
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DRAFT_KEYS = {
    "brandPersonality",
    "primaryObjective",
    "secondaryObjective",
    "greetings",
    "closing",
    "emojis",
    "hashtags",
    "exceptions",
    "clarifications",
    "defaultCta",
    "customObjectives",
}


def test_first_get_creates_exactly_the_canonical_defaults(client: Client) -> None:
    # Given a user who just verified their sign-up (a profile, no data yet)
    # When they read their data for the first time
    status, headers, body = client.get()

    # Then the answer is version 1 with ETag "1", and the data is exactly the canonical defaults
    assert status == 200
    assert body["version"] == 1
    assert headers["ETag"] == '"1"'
    assert headers["Cache-Control"] == "no-store"
    data = body["data"]
    assert "version" not in data
    assert data["schemaVersion"] == 2
    assert data["profile"]["userId"] == client.user_id
    assert data["groups"] == [{"id": "default", "name": "Default group"}]
    [workspace] = data["workspaces"]
    [knowledge_base] = data["knowledgeBases"]
    [agent] = data["agents"]
    assert data["connections"] == []
    assert data["nodePositions"] == {}
    assert (workspace["id"], workspace["name"]) == ("ws-1", "My Workspace")
    assert workspace["description"] == SEED_DESCRIPTION
    assert (knowledge_base["id"], knowledge_base["name"]) == ("kb-default-1", "My Knowledge Base")
    assert (agent["id"], agent["name"]) == ("agent-default-1", "My Agent")
    # bound together
    assert workspace["groupId"] == "default"
    assert workspace["ownerId"] == client.user_id
    assert (workspace["defaultKbId"], workspace["defaultAgentId"]) == ("kb-default-1", "agent-default-1")
    assert knowledge_base["workspaceId"] == "ws-1"
    assert knowledge_base["groupId"] == "default"
    assert (agent["workspaceId"], agent["knowledgeBaseId"]) == ("ws-1", "kb-default-1")
    # a pristine draft: the KB is incomplete, so the agent is a draft
    assert set(knowledge_base["draft"]) == DRAFT_KEYS
    assert all(v is None for v in knowledge_base["draft"].values())
    assert knowledge_base["status"] == "incomplete"
    assert agent["status"] == "draft"
    assert agent["paused"] is False
    assert agent["connectionIds"] == []
    # derived fields
    assert knowledge_base["agentsSetCount"] == 1
    assert workspace["numberOfKnowledgeBases"] == 1
    assert workspace["connectedApps"] == []
    assert workspace["appsActivated"] is False
    for entity in (workspace, knowledge_base, agent):
        assert ISO_MS.match(entity["createdAt"]), entity["createdAt"]
        assert ISO_MS.match(entity["updatedAt"]), entity["updatedAt"]


def test_first_get_persists_the_defaults_and_a_second_get_writes_nothing(client: Client) -> None:
    # Given a user whose first read created the defaults
    first, version = client.data()
    items_after_first = stored_items(client.user_id)

    # When they read again
    second, version_again = client.data()

    # Then the same data comes back at the same version, and no stored item changed
    assert (second, version_again) == (first, version)
    assert stored_items(client.user_id) == items_after_first
    assert items_after_first["D#ROOT"]["version"]["N"] == "1"
    assert {sk for sk in items_after_first if sk.startswith("D#WS#")} == {"D#WS#ws-1"}


def test_concurrent_first_gets_create_one_copy_of_the_defaults(
    user_data: ModuleType, serialized_dynamodb: Any
) -> None:
    # Given a brand-new user whose app fires several first reads at once
    user_id = create_user()
    answers: list[tuple[int, Any]] = []
    start = threading.Barrier(6)

    def read() -> None:  # the handler's service call, raced from threads (tests/user_data_service.py)
        start.wait()
        status, _, body = user_data_service.get(Client(user_data, user_id).event("GET"))
        answers.append((status, body))

    # When six reads race
    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every read sees the same single copy of the defaults, stored once (version 1)
    assert [status for status, _ in answers] == [200] * 6
    assert {body["version"] for _, body in answers} == {1}
    datas = [body["data"] for _, body in answers]
    assert all(d == datas[0] for d in datas)
    assert [w["id"] for w in datas[0]["workspaces"]] == ["ws-1"]
    assert [a["id"] for a in datas[0]["agents"]] == ["agent-default-1"]
    items = stored_items(user_id)
    assert items["D#ROOT"]["version"]["N"] == "1"
    assert {sk for sk in items if sk.startswith("D#")} == {"D#ROOT", "D#INDEX", "D#WS#ws-1"}


def test_a_read_without_a_session_identity_is_401(user_data: ModuleType) -> None:
    # Given a request that did not come through the authorizer (no identity in the context)
    from tests.conftest import api_event, invoke

    event = api_event("user-data-get")
    event["requestContext"].pop("authorizer")

    # When it reaches the function
    status, _, body = invoke(user_data, event)

    # Then it is refused as unauthenticated, in the contract's error shape
    assert status == 401
    assert body["error"]["code"] == "unauthorized"


def test_a_session_whose_account_is_gone_is_401_and_creates_nothing(user_data: ModuleType) -> None:
    # Given a session for a user id that has no stored account
    ghost = Client(user_data, "u-no-such-user")

    # When it reads
    status, _, body = ghost.get()

    # Then it is 401 and nothing was created for that id
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
    assert stored_items("u-no-such-user") == {}


def test_an_account_stored_before_agents_is_backfilled_once_on_read(client: Client) -> None:
    # Given an account stored in the old shape (no agents, web-chat connections linked to KBs)
    store_legacy_account(client.user_id)
    stored_version = int(stored_items(client.user_id)["D#ROOT"]["version"]["N"])

    # When the user reads it
    data, version = client.data()

    # Then the backfill ran and was persisted once (one version bump)
    assert version == stored_version + 1
    assert data["schemaVersion"] == 2
    # every KB has an agent of its workspace
    for knowledge_base in data["knowledgeBases"]:
        assert knowledge_base["agentsSetCount"] >= 1
    agents = {a["id"]: a for a in data["agents"]}
    # every connection went to an agent of the KB it was linked to, at most 4 per agent
    for conn in data["connections"]:
        legacy_kb = "kb-default-1" if int(conn["id"].split("-")[1]) < 6 else "kb-sales"
        assert agents[conn["agentId"]]["knowledgeBaseId"] == legacy_kb
        assert conn["knowledgeBaseId"] == legacy_kb
    assert all(len(a["connectionIds"]) <= 4 for a in agents.values())
    assert sorted(len(a["connectionIds"]) for a in agents.values()) == [1, 2, 4]
    assert sorted(a["name"] for a in agents.values()) == ["My Agent", "My Agent 2", "My Agent 3"]
    # the canonical default agent was recreated with its id; statuses are derived
    assert agents["agent-default-1"]["knowledgeBaseId"] == "kb-default-1"
    assert {a["status"] for a in agents.values() if a["knowledgeBaseId"] == "kb-default-1"} == {"active"}
    assert {a["status"] for a in agents.values() if a["knowledgeBaseId"] == "kb-sales"} == {"draft"}

    # And a second read changes nothing and writes nothing
    assert client.data() == (data, version)


def test_the_backfill_does_not_run_on_every_read(client: Client) -> None:
    # Given a current account where a second KB lost its only agent (moved to the default KB)
    client.data()
    client.ok(
        {"type": "knowledgeBase.create", "id": "kb-second", "workspaceId": "ws-1", "name": "Second"},
        {
            "type": "agent.create",
            "id": "agent-second",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-second",
            "name": "Helper",
        },
    )
    client.ok({"type": "agent.update", "agentId": "agent-second", "knowledgeBaseId": "kb-default-1"})

    # When the user reads their data
    data, version = client.data()

    # Then no agent was added back to that KB (the read did not write), so the KB can be deleted
    assert kb(data, "kb-second")["agentsSetCount"] == 0
    assert len(data["agents"]) == 2
    after_delete = client.ok({"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-second"})
    assert after_delete["version"] == version + 1
    assert [k["id"] for k in after_delete["data"]["knowledgeBases"]] == ["kb-default-1"]


def test_a_small_answer_is_not_compressed_even_when_gzip_is_accepted(client: Client) -> None:
    # Given a default account (a few KB of JSON)
    # When it is read by a client that accepts gzip
    status, headers, body = client.get(headers={"Accept-Encoding": "gzip"})

    # Then it comes back as plain JSON
    assert status == 200
    assert "Content-Encoding" not in headers
    assert body["version"] == 1


def test_a_first_post_before_any_read_creates_the_defaults_and_applies_in_one_write(client: Client) -> None:
    # Given a brand-new user whose app writes before it reads
    # When the first request is a mutation on the default workspace
    body = client.ok({"type": "workspace.update", "workspaceId": "ws-1", "name": "Renamed first"})

    # Then the defaults were created and changed in one write: version 1
    assert body["version"] == 1
    assert [(w["id"], w["name"]) for w in body["data"]["workspaces"]] == [("ws-1", "Renamed first")]
    assert [a["id"] for a in body["data"]["agents"]] == ["agent-default-1"]
    assert client.data() == (body["data"], 1)
