"""Agents through POST /api/user-data: binding to a KB of their own workspace, the derived status and
the activation rule, and deletes (CONTRACT §2.4, §2.6, §3 assignment rule, §9 "Cascades", §10)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import COMPLETE_DRAFT, Client, agent, connection, paths, workspace

COMPLETE_KB = {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT}


def web_chat(conn_id: str, workspace_id: str = "ws-1", **extra: object) -> dict:
    return {
        "type": "connection.create",
        "id": conn_id,
        "workspaceId": workspace_id,
        "family": "web-chat",
        **extra,
    }


def test_agent_create_is_bound_to_a_kb_of_its_workspace(client: Client) -> None:
    # Given the defaults
    # When an agent is created on the default KB
    body = client.ok(
        {
            "type": "agent.create",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": " Night shift ",
        }
    )

    # Then it is bound there, a draft (the KB is incomplete), not paused and holding nothing
    agent_id = body["results"][0]["id"]
    assert agent_id.startswith("agent-")
    created = agent(body["data"], agent_id)
    assert (created["workspaceId"], created["knowledgeBaseId"], created["name"]) == (
        "ws-1",
        "kb-default-1",
        "Night shift",
    )
    assert (created["status"], created["paused"], created["connectionIds"]) == ("draft", False, [])
    assert next(k for k in body["data"]["knowledgeBases"])["agentsSetCount"] == 2
    # the workspace's default agent did not change
    assert workspace(body["data"], "ws-1")["defaultAgentId"] == "agent-default-1"


def test_agent_create_on_a_complete_kb_is_inactive(client: Client) -> None:
    # Given a complete default KB; When an agent is created on it; Then it is inactive (no connection)
    client.ok(COMPLETE_KB)
    body = client.ok(
        {"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "A"}
    )
    assert agent(body["data"], body["results"][0]["id"])["status"] == "inactive"


@pytest.mark.parametrize(
    ("mutation", "status", "code", "path"),
    [
        (
            {"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "OTHER_KB", "name": "A"},
            409,
            "invariant_violation",
            "/knowledgeBaseId",
        ),
        (
            {
                "type": "agent.create",
                "workspaceId": "ws-nope",
                "knowledgeBaseId": "kb-default-1",
                "name": "A",
            },
            404,
            "not_found",
            "/workspaceId",
        ),
        (
            {"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "kb-nope", "name": "A"},
            404,
            "not_found",
            "/knowledgeBaseId",
        ),
        (
            {"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1"},
            422,
            "validation_failed",
            "/name",
        ),
        (
            {
                "type": "agent.create",
                "workspaceId": "ws-1",
                "knowledgeBaseId": "kb-default-1",
                "name": "A",
                "id": "agent-default-1",
            },
            409,
            "id_taken",
            "/id",
        ),
        (
            {"type": "agent.update", "agentId": "agent-default-1", "knowledgeBaseId": "OTHER_KB"},
            409,
            "invariant_violation",
            "/knowledgeBaseId",
        ),
        (
            {"type": "agent.update", "agentId": "agent-default-1", "knowledgeBaseId": "kb-nope"},
            404,
            "not_found",
            "/knowledgeBaseId",
        ),
        ({"type": "agent.update", "agentId": "agent-nope", "name": "X"}, 404, "not_found", "/agentId"),
        ({"type": "agent.delete", "agentId": "agent-nope"}, 404, "not_found", "/agentId"),
        (
            {"type": "agent.update", "agentId": "agent-default-1", "status": "draft"},
            422,
            "validation_failed",
            "/status",
        ),
        (
            {"type": "agent.update", "agentId": "agent-default-1", "status": "paused"},
            422,
            "validation_failed",
            "/status",
        ),
        (
            {"type": "agent.update", "agentId": "agent-default-1", "paused": True},
            422,
            "validation_failed",
            "/paused",
        ),
        (
            {"type": "agent.update", "agentId": "agent-default-1", "connectionIds": []},
            422,
            "validation_failed",
            "/connectionIds",
        ),
    ],
)
def test_agent_refusals(client: Client, mutation: dict, status: int, code: str, path: str) -> None:
    # Given a second workspace whose KB is "OTHER_KB"
    other = client.ok({"type": "workspace.create", "name": "Other"})["results"][0]
    mutation = {k: (other["knowledgeBaseId"] if v == "OTHER_KB" else v) for k, v in mutation.items()}

    # When an agent mutation breaks a rule; Then it is refused at the field's path, nothing changes
    error = client.fails(mutation, status, code)
    assert path in paths(error)


def test_activation_refused_lists_every_unmet_condition(client: Client) -> None:
    # Given the default agent: KB incomplete, no connection
    # When the user asks for it to be active
    error = client.fails(
        {"type": "agent.update", "agentId": "agent-default-1", "status": "active"}, 409, "agent_not_ready"
    )

    # Then both unmet conditions are listed
    assert [d["code"] for d in error["details"]] == ["kb_incomplete", "no_active_connection"]
    assert "brandPersonality" in error["details"][0]["message"]

    # And with the KB complete, only the missing active connection is listed
    client.ok(COMPLETE_KB)
    error = client.fails(
        {"type": "agent.update", "agentId": "agent-default-1", "status": "active"}, 409, "agent_not_ready"
    )
    assert [d["code"] for d in error["details"]] == ["no_active_connection"]

    # And an inactive connection does not count
    client.ok(web_chat("conn-a"), {"type": "connection.update", "connectionId": "conn-a", "active": False})
    error = client.fails(
        {"type": "agent.update", "agentId": "agent-default-1", "status": "active"}, 409, "agent_not_ready"
    )
    assert [d["code"] for d in error["details"]] == ["no_active_connection"]


def test_activation_refused_in_a_batch_points_into_the_batch(client: Client) -> None:
    error = client.fails(
        {
            "mutations": [
                {"type": "profile.update", "company": "X"},
                {"type": "agent.update", "agentId": "agent-default-1", "status": "active"},
            ]
        },
        409,
        "agent_not_ready",
    )
    assert paths(error) == ["/mutations/1/knowledgeBaseId", "/mutations/1/connectionIds"]


def test_status_is_derived_and_inactive_pauses_the_agent(client: Client) -> None:
    # Given a complete KB and an active connection: the agent is active by derivation
    data = client.ok(COMPLETE_KB, web_chat("conn-a"))["data"]
    assert agent(data, "agent-default-1")["status"] == "active"

    # When the user sets it inactive
    data = client.ok({"type": "agent.update", "agentId": "agent-default-1", "status": "inactive"})["data"]

    # Then it is paused and inactive although it could be active
    assert (agent(data, "agent-default-1")["paused"], agent(data, "agent-default-1")["status"]) == (
        True,
        "inactive",
    )

    # And it stays paused across unrelated changes (paused is stored, status derived)
    data = client.ok(web_chat("conn-b"))["data"]
    assert agent(data, "agent-default-1")["status"] == "inactive"

    # And "active" clears the pause when the agent would be active
    data = client.ok({"type": "agent.update", "agentId": "agent-default-1", "status": "active"})["data"]
    assert (agent(data, "agent-default-1")["paused"], agent(data, "agent-default-1")["status"]) == (
        False,
        "active",
    )

    # And deactivating every connection makes it inactive again, without pausing it
    data = client.ok(
        {"type": "connection.update", "connectionId": "conn-a", "active": False},
        {"type": "connection.update", "connectionId": "conn-b", "active": False},
    )["data"]
    assert (agent(data, "agent-default-1")["paused"], agent(data, "agent-default-1")["status"]) == (
        False,
        "inactive",
    )


def test_a_paused_agent_on_an_incomplete_kb_is_draft(client: Client) -> None:
    # Given the default agent paused
    data = client.ok({"type": "agent.update", "agentId": "agent-default-1", "status": "inactive"})["data"]

    # Then the incomplete KB wins: draft
    assert (agent(data, "agent-default-1")["paused"], agent(data, "agent-default-1")["status"]) == (
        True,
        "draft",
    )


def test_moving_an_agent_to_another_kb_moves_its_connections_effective_kb(client: Client) -> None:
    # Given the default agent holding a web chat, and a second (complete) KB in ws-1
    client.ok(
        web_chat("conn-a"),
        {"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1", "draft": COMPLETE_DRAFT},
    )

    # When the agent is moved to that KB and renamed
    body = client.ok(
        {"type": "agent.update", "agentId": "agent-default-1", "knowledgeBaseId": "kb-two", "name": "Moved"}
    )

    # Then its connection follows (effective KB derived from the agent) and the status is re-derived
    data = body["data"]
    assert body["results"] == [{"type": "agent.update", "id": "agent-default-1"}]
    moved = agent(data, "agent-default-1")
    assert (moved["knowledgeBaseId"], moved["name"], moved["status"]) == ("kb-two", "Moved", "active")
    assert connection(data, "conn-a")["knowledgeBaseId"] == "kb-two"
    assert connection(data, "conn-a")["agentId"] == "agent-default-1"


# -- delete ----------------------------------------------------------------------------------------
def test_the_last_agent_of_a_workspace_cannot_be_deleted(client: Client) -> None:
    # Given a second workspace (so the account has several agents, but ws-1 only one)
    client.ok({"type": "workspace.create", "name": "Other"})

    # When ws-1's only agent is deleted; Then 409 pointing at it
    error = client.fails({"type": "agent.delete", "agentId": "agent-default-1"}, 409, "invariant_violation")
    assert paths(error) == ["/agentId"]


def test_deleting_a_non_default_agent_moves_its_connections_to_the_default_agent(client: Client) -> None:
    # Given a second agent holding two connections
    client.ok(
        {
            "type": "agent.create",
            "id": "agent-two",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "Two",
        },
        web_chat("conn-a", agentId="agent-two"),
        web_chat("conn-b", agentId="agent-two"),
    )

    # When it is deleted
    body = client.ok({"type": "agent.delete", "agentId": "agent-two"})

    # Then its connections went to the workspace's default agent
    data = body["data"]
    assert body["results"] == [{"type": "agent.delete", "id": "agent-two"}]
    assert [a["id"] for a in data["agents"]] == ["agent-default-1"]
    assert agent(data, "agent-default-1")["connectionIds"] == ["conn-a", "conn-b"]


def test_deleting_the_default_agent_makes_the_oldest_remaining_the_default(client: Client) -> None:
    # Given three agents in ws-1 (default, then "Second", then "Third"), the default holding 4 connections
    # and "Second" holding 3
    client.ok(
        {
            "type": "agent.create",
            "id": "agent-second",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "Second",
        },
        {
            "type": "agent.create",
            "id": "agent-third",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "Third",
        },
        *[web_chat(f"conn-d{i}") for i in range(4)],
        *[web_chat(f"conn-s{i}", agentId="agent-second") for i in range(3)],
    )

    # When the default agent is deleted
    data = client.ok({"type": "agent.delete", "agentId": "agent-default-1"})["data"]

    # Then the oldest remaining agent is the default
    assert workspace(data, "ws-1")["defaultAgentId"] == "agent-second"
    # and its 4 connections follow the assignment rule: the new default while it has room (1 more),
    # then another agent of the default agent's KB with room
    # (connectionIds list connections in creation order)
    assert agent(data, "agent-second")["connectionIds"] == ["conn-d0", "conn-s0", "conn-s1", "conn-s2"]
    assert agent(data, "agent-third")["connectionIds"] == ["conn-d1", "conn-d2", "conn-d3"]
    assert all(c["agentId"] in {"agent-second", "agent-third"} for c in data["connections"])


def test_deleting_the_default_agent_creates_an_agent_when_no_other_has_room(client: Client) -> None:
    # Given the default agent holding 4 connections and a second agent holding 4 too
    client.ok(
        {
            "type": "agent.create",
            "id": "agent-second",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "Second",
        },
        *[web_chat(f"conn-d{i}") for i in range(4)],
        *[web_chat(f"conn-s{i}", agentId="agent-second") for i in range(4)],
    )

    # When the default agent is deleted
    data = client.ok({"type": "agent.delete", "agentId": "agent-default-1"})["data"]

    # Then its connections go to a new agent on the default agent's KB, named by the rule
    assert workspace(data, "ws-1")["defaultAgentId"] == "agent-second"
    [new] = [a for a in data["agents"] if a["id"] != "agent-second"]
    assert new["name"] == "My Agent 2"
    assert new["knowledgeBaseId"] == "kb-default-1"
    assert new["connectionIds"] == ["conn-d0", "conn-d1", "conn-d2", "conn-d3"]
    assert all(len(a["connectionIds"]) <= 4 for a in data["agents"])
