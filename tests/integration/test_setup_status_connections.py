"""Connections through /api/setup-status: they go to the onboarding target (recreated in place when a
part is missing), follow the user-data connection rules, and are the same records /api/user-data
shows and edits (CONTRACT §4 `/api/setup-status`, §3 assignment rule, §9 "Setup status",
§10 "Onboarding", "Ids and names", "Labels")."""

from __future__ import annotations

from typing import Any

import pytest

from ciq.domain.defaults import DEFAULT_WORKSPACE_DESCRIPTION
from tests.integration.conftest import (
    COMPLETE_DRAFT,
    Client,
    SetupClient,
    agent,
    connection,
    kb,
    paths,
    stored_items,
    workspace,
)

SMS = {"family": "sms", "phoneNumber": "+14155550123"}


def add(setup_client: SetupClient, family: str = "web-chat", **fields: Any) -> dict[str, Any]:
    """Adds one connection through Get Started; returns it (the newest of the target's)."""
    body = setup_client.ok({"type": "addConnection", "family": family, **fields})
    return body["connections"][-1]  # type: ignore[no-any-return]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# -- adding ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "owner"),
    [
        ({"family": "social-comments", "platform": "instagram"}, "kb"),
        ({"family": "review-platforms", "platform": "google"}, "kb"),
        ({"family": "facebook-messenger"}, "agent"),
        ({"family": "web-chat"}, "agent"),
        ({"family": "whatsapp", "phoneNumber": "+447911123456"}, "agent"),
        (
            {**SMS, "compliance": {"brandName": "Acme", "ein": "12-3456789"}},
            "agent",
        ),
    ],
)
def test_a_connection_of_each_family_goes_to_the_target(
    setup_client: SetupClient, data_client: Client, fields: dict[str, Any], owner: str
) -> None:
    # Given a new user
    # When Get Started adds a connection of the family
    body = setup_client.ok({"type": "addConnection", **fields})

    # Then it sits in ws-1 on kb-default-1, owned by the KB or the target agent, without addedVia
    [added] = body["connections"]
    assert (added["workspaceId"], added["knowledgeBaseId"]) == ("ws-1", "kb-default-1")
    assert added["agentId"] == (None if owner == "kb" else "agent-default-1")
    assert (added["active"], added["state"], added["label"]) == (True, "connected", "Profile 1")
    assert "addedVia" not in added
    assert body["progress"]["connectChannels"] is True
    # And /api/user-data shows the very same record
    data, _ = data_client.data()
    assert data["connections"] == [added]


def test_labels_are_normalized_in_the_scope_user_data_uses(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a web chat labelled "Site" created through /api/user-data
    data_client.ok(
        {"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat", "label": "Site"}
    )

    # When Get Started adds web chats labelled " site ", "  Main   line " and nothing
    clash = add(setup_client, label=" site ")
    spaced = add(setup_client, label="  Main   line ")
    unnamed = add(setup_client)

    # Then labels are trimmed and collapsed, a clash gets " (2)", an empty one "Profile N"
    assert [clash["label"], spaced["label"], unnamed["label"]] == ["site (2)", "Main line", "Profile 1"]


def test_the_fifth_agent_family_connection_goes_to_a_new_agent_of_the_target_kb(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given four agent-family connections on the target agent
    for _ in range(4):
        add(setup_client)

    # When a fifth is added
    fifth = add(setup_client, "whatsapp", phoneNumber="+14155550100")

    # Then the full target agent keeps its four; a new "My Agent 2" on kb-default-1 takes the fifth
    data, _ = data_client.data()
    assert len(agent(data, "agent-default-1")["connectionIds"]) == 4
    new_agent = agent(data, fifth["agentId"])
    assert (new_agent["name"], new_agent["knowledgeBaseId"], new_agent["workspaceId"]) == (
        "My Agent 2",
        "kb-default-1",
        "ws-1",
    )
    assert fifth["knowledgeBaseId"] == "kb-default-1"


def test_a_full_target_agent_passes_to_another_agent_of_its_kb_with_room(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a full target agent and another agent on kb-default-1
    data_client.ok(
        {
            "type": "agent.create",
            "id": "agent-spare",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "Spare",
        }
    )
    for _ in range(4):
        add(setup_client)

    # When one more agent-family connection is added
    added = add(setup_client, "facebook-messenger")

    # Then the agent with room takes it; no agent is created
    assert added["agentId"] == "agent-spare"
    assert len(data_client.data()[0]["agents"]) == 2


def test_agent_families_start_at_the_target_agent_not_the_workspace_default(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given ws-1 whose default agent is now another agent of kb-default-1
    data_client.ok(
        {
            "type": "agent.create",
            "id": "agent-b",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "B",
        },
        {"type": "workspace.update", "workspaceId": "ws-1", "defaultAgentId": "agent-b"},
    )

    # When Get Started and /api/user-data each add a web chat
    from_setup = add(setup_client)
    from_data = data_client.ok({"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat"})

    # Then Get Started starts at agent-default-1; user-data starts at the workspace default
    assert from_setup["agentId"] == "agent-default-1"
    created = connection(from_data["data"], from_data["results"][0]["id"])
    assert created["agentId"] == "agent-b"


def test_kb_owned_connections_use_kb_default_1_and_agent_ones_the_target_agents_kb(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given ws-1 whose default KB and the target agent's KB are another KB
    data_client.ok(
        {"type": "knowledgeBase.create", "workspaceId": "ws-1", "id": "kb-sales", "name": "Sales"},
        {"type": "workspace.update", "workspaceId": "ws-1", "defaultKbId": "kb-sales"},
        {"type": "agent.update", "agentId": "agent-default-1", "knowledgeBaseId": "kb-sales"},
    )

    # When Get Started adds a social connection and a web chat
    social = add(setup_client, "social-comments", platform="facebook")
    chat = add(setup_client)

    # Then the social one is on kb-default-1 (docs-hub rule 4); the chat follows its agent's KB
    assert social["knowledgeBaseId"] == "kb-default-1"
    assert (chat["agentId"], chat["knowledgeBaseId"]) == ("agent-default-1", "kb-sales")


# -- target recreation -------------------------------------------------------------------------------
def test_a_deleted_target_workspace_is_recreated_with_its_canonical_parts(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given ws-1 deleted (another workspace remains)
    data_client.ok({"type": "workspace.create", "id": "ws-other", "name": "Other"})
    data_client.ok({"type": "workspace.delete", "workspaceId": "ws-1"})
    _, version = data_client.data()

    # When the status is read, Then it shows the target as it would be recreated, without writing
    status, read_version = setup_client.status()
    assert status["onboardingTarget"]["workspaceId"] == "ws-1"
    assert (status["connections"], read_version) == ([], version)

    # When Get Started adds a connection
    added = add(setup_client, "social-comments", platform="threads")

    # Then ws-1 is back as on day one: name, seed description, default group, KB and agent
    data, _ = data_client.data()
    recreated = workspace(data, "ws-1")
    assert (recreated["name"], recreated["description"], recreated["groupId"]) == (
        "My Workspace",
        DEFAULT_WORKSPACE_DESCRIPTION,
        "default",
    )
    assert (recreated["defaultKbId"], recreated["defaultAgentId"]) == ("kb-default-1", "agent-default-1")
    assert (kb(data, "kb-default-1")["name"], kb(data, "kb-default-1")["workspaceId"]) == (
        "My Knowledge Base",
        "ws-1",
    )
    assert (agent(data, "agent-default-1")["name"], agent(data, "agent-default-1")["knowledgeBaseId"]) == (
        "My Agent",
        "kb-default-1",
    )
    assert (added["workspaceId"], added["knowledgeBaseId"]) == ("ws-1", "kb-default-1")
    assert [w["id"] for w in data["workspaces"]] == ["ws-other", "ws-1"]


def test_a_deleted_target_kb_is_recreated_alone(setup_client: SetupClient, data_client: Client) -> None:
    # Given kb-default-1 deleted from ws-1 (another KB is the default and holds the target agent)
    data_client.ok(
        {"type": "knowledgeBase.create", "workspaceId": "ws-1", "id": "kb-sales", "name": "Sales"},
        {"type": "workspace.update", "workspaceId": "ws-1", "defaultKbId": "kb-sales"},
        {"type": "agent.update", "agentId": "agent-default-1", "knowledgeBaseId": "kb-sales"},
        {"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-default-1"},
    )
    before, _ = data_client.data()

    # When Get Started adds a review connection
    added = add(setup_client, "review-platforms", platform="yelp")

    # Then only the KB is recreated, blank, in ws-1's group; nothing else moved
    data, _ = data_client.data()
    recreated = kb(data, "kb-default-1")
    assert (recreated["name"], recreated["workspaceId"], recreated["groupId"], recreated["status"]) == (
        "My Knowledge Base",
        "ws-1",
        "default",
        "incomplete",
    )
    assert workspace(data, "ws-1")["defaultKbId"] == "kb-sales"
    assert ids(data["agents"]) == ids(before["agents"])
    assert agent(data, "agent-default-1")["knowledgeBaseId"] == "kb-sales"
    assert added["knowledgeBaseId"] == "kb-default-1"


def test_a_deleted_target_agent_is_recreated_alone(setup_client: SetupClient, data_client: Client) -> None:
    # Given agent-default-1 deleted (another agent became ws-1's default)
    data_client.ok(
        {
            "type": "agent.create",
            "id": "agent-b",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "B",
        },
        {"type": "agent.delete", "agentId": "agent-default-1"},
    )

    # When Get Started adds a web chat
    added = add(setup_client)

    # Then "My Agent" is back on kb-default-1 and serves it; the workspace keeps its default agent
    data, _ = data_client.data()
    recreated = agent(data, "agent-default-1")
    assert (recreated["name"], recreated["knowledgeBaseId"], recreated["connectionIds"]) == (
        "My Agent",
        "kb-default-1",
        [added["id"]],
    )
    assert workspace(data, "ws-1")["defaultAgentId"] == "agent-b"
    assert ids(data["agents"]) == ["agent-b", "agent-default-1"]


def test_a_missing_default_group_is_recreated_with_the_workspace(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given an imported document with neither the default group nor ws-1
    status, _, body = data_client.put(
        {
            "data": {
                "groups": [{"id": "grp-a", "name": "A"}],
                "workspaces": [{"id": "ws-a", "name": "A", "groupId": "grp-a"}],
            }
        }
    )
    assert status == 200, body

    # When Get Started adds a connection
    body = setup_client.ok({"type": "addConnection", "family": "sms", "phoneNumber": "+14155550123"})

    # Then ws-1 is recreated in the default group, which exists
    assert body["onboardingTarget"] == {
        "workspaceId": "ws-1",
        "groupId": "default",
        "knowledgeBaseId": "kb-default-1",
        "agentId": "agent-default-1",
    }
    data, _ = data_client.data()
    assert {"id": "default", "name": "Default group"} in data["groups"]
    assert workspace(data, "ws-1")["groupId"] == "default"


def test_the_target_group_is_the_target_workspaces_own(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given ws-1 moved to another group
    data_client.ok(
        {"type": "group.create", "id": "grp-vip", "name": "VIP"},
        {"type": "workspace.update", "workspaceId": "ws-1", "groupId": "grp-vip"},
    )

    # When a connection is added
    body = setup_client.ok({"type": "addConnection", "family": "web-chat"})

    # Then the workspace stays where the user put it, and the target reports that group
    assert body["onboardingTarget"]["groupId"] == "grp-vip"
    assert workspace(data_client.data()[0], "ws-1")["groupId"] == "grp-vip"


def test_every_connection_mutation_recreates_a_missing_target(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a web chat in ws-1, then agent-default-1 deleted
    added = add(setup_client)
    data_client.ok(
        {
            "type": "agent.create",
            "id": "agent-b",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "B",
        },
        {"type": "agent.delete", "agentId": "agent-default-1"},
    )

    # When Get Started removes that connection
    setup_client.ok({"type": "removeConnection", "connectionId": added["id"]})

    # Then the target agent was recreated on the way (CONTRACT §9: connection mutations recreate)
    assert "agent-default-1" in ids(data_client.data()[0]["agents"])


def test_a_canonical_id_held_elsewhere_is_a_409(setup_client: SetupClient, data_client: Client) -> None:
    # Given an import that put kb-default-1 in another workspace and has no ws-1
    status, _, body = data_client.put(
        {
            "data": {
                "workspaces": [{"id": "ws-a", "name": "A", "defaultKbId": "kb-default-1"}],
                "knowledgeBases": [{"id": "kb-default-1", "workspaceId": "ws-a", "name": "Imported"}],
            }
        }
    )
    assert status == 200, body

    # When the status is read, Then it still answers
    status_body, _ = setup_client.status()
    assert status_body["progress"]["trainAi"] is False

    # When Get Started adds a connection, Then 409: the target cannot be recreated in place
    error = setup_client.fails({"type": "addConnection", "family": "web-chat"}, 409, "invariant_violation")
    assert [d["code"] for d in error["details"]] == ["target_unavailable"]


@pytest.mark.parametrize(
    "mutation",
    [
        {"type": "workspace.create", "id": "ws-1", "name": "Mine"},
        {"type": "knowledgeBase.create", "workspaceId": "ws-other", "id": "kb-default-1"},
        {
            "type": "agent.create",
            "workspaceId": "ws-other",
            "knowledgeBaseId": "kb-o",
            "name": "A",
            "id": "agent-default-1",
        },
        {"type": "group.create", "id": "kb-default-1", "name": "G"},
        {
            "type": "connection.create",
            "workspaceId": "ws-other",
            "family": "web-chat",
            "id": "agent-default-1",
        },
        {"type": "workspace.duplicate", "workspaceId": "ws-other", "id": "ws-1"},
    ],
)
def test_create_mutations_may_not_propose_the_canonical_ids(
    data_client: Client, mutation: dict[str, Any]
) -> None:
    # Given ws-1 deleted, so none of the canonical ids is in use
    data_client.ok({"type": "workspace.create", "id": "ws-other", "name": "Other"})
    data_client.ok({"type": "knowledgeBase.create", "workspaceId": "ws-other", "id": "kb-o"})
    data_client.ok({"type": "workspace.delete", "workspaceId": "ws-1"})

    # When a create mutation proposes one, Then 409 id_taken, "reserved"
    error = data_client.fails(mutation, 409, "id_taken")
    assert [(d["path"], d["code"]) for d in error["details"]] == [("/id", "reserved")]


# -- updating and removing ---------------------------------------------------------------------------
def test_update_edits_a_target_connection_with_the_user_data_rules(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given two SMS connections added through Get Started
    first = add(setup_client, **{**SMS, "label": "Support"})
    second = add(setup_client, **{**SMS, "label": "Sales", "compliance": {"brandName": "Acme"}})

    # When the second is renamed to the first's label, deactivated, degraded and its compliance cleared
    body = setup_client.ok(
        {
            "type": "updateConnection",
            "connectionId": second["id"],
            "label": " SUPPORT ",
            "active": False,
            "state": "degraded",
            "compliance": None,
            "phoneNumber": "+14155550999",
        }
    )

    # Then the label is deduplicated, the fields changed, the other connection untouched
    updated = next(c for c in body["connections"] if c["id"] == second["id"])
    assert (updated["label"], updated["active"], updated["state"], updated["phoneNumber"]) == (
        "SUPPORT (2)",
        False,
        "degraded",
        "+14155550999",
    )
    assert "compliance" not in updated
    assert next(c for c in body["connections"] if c["id"] == first["id"]) == first


def test_update_refuses_what_the_family_does_not_have(setup_client: SetupClient) -> None:
    # Given a web chat; When a phone number or compliance is put on it; Then 422 at that field
    chat = add(setup_client)
    for field, value in (("phoneNumber", "+14155550100"), ("compliance", {"brandName": "A"})):
        error = setup_client.fails(
            {"type": "updateConnection", "connectionId": chat["id"], field: value}, 422, "validation_failed"
        )
        assert paths(error) == [f"/{field}"]


def test_update_and_remove_only_reach_the_target_workspace(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a connection in another workspace, made through /api/user-data
    data_client.ok({"type": "workspace.create", "id": "ws-other", "name": "Other"})
    made = data_client.ok(
        {"type": "connection.create", "workspaceId": "ws-other", "family": "web-chat", "id": "conn-far"}
    )
    assert made["results"][0]["id"] == "conn-far"

    # When Get Started reads, updates or removes it
    status, _ = setup_client.status()
    update = setup_client.fails(
        {"type": "updateConnection", "connectionId": "conn-far", "label": "x"}, 404, "not_found"
    )
    remove = setup_client.fails({"type": "removeConnection", "connectionId": "conn-far"}, 404, "not_found")

    # Then it is not listed and is not found for Get Started; connectChannels ignores it
    assert status["connections"] == []
    assert status["progress"]["connectChannels"] is False
    assert paths(update) == paths(remove) == ["/connectionId"]


# -- one record, two views ---------------------------------------------------------------------------
def test_a_connection_from_user_data_is_listed_and_editable_in_get_started(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a wizard connection made through /api/user-data
    data_client.ok(
        {
            "type": "connection.create",
            "workspaceId": "ws-1",
            "family": "web-chat",
            "id": "conn-wiz",
            "addedVia": "wizard",
        }
    )

    # When Get Started lists and renames it
    listed = setup_client.status()[0]["connections"]
    body = setup_client.ok({"type": "updateConnection", "connectionId": "conn-wiz", "label": "Renamed"})

    # Then it is the same record, with its addedVia kept, and user-data sees the new label
    assert ids(listed) == ["conn-wiz"]
    assert body["connections"][0]["addedVia"] == "wizard"
    assert connection(data_client.data()[0], "conn-wiz")["label"] == "Renamed"


def test_a_connection_from_get_started_is_editable_and_removable_in_user_data(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a connection added by Get Started
    added = add(setup_client, "social-comments", platform="linkedin")

    # When /api/user-data renames it
    data_client.ok({"type": "connection.update", "connectionId": added["id"], "label": "Company page"})

    # Then Get Started shows the new label
    assert setup_client.status()[0]["connections"][0]["label"] == "Company page"

    # When /api/user-data deletes it, Then Get Started no longer lists it and step 2 is undone
    data_client.ok({"type": "connection.delete", "connectionId": added["id"]})
    status, _ = setup_client.status()
    assert (status["connections"], status["progress"]["connectChannels"]) == ([], False)


def test_removing_the_default_kbs_last_connection_updates_the_agent_in_both_views(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given a complete default KB and one web chat: the target agent is active
    data_client.ok(
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT}
    )
    chat = add(setup_client)
    assert agent(data_client.data()[0], "agent-default-1")["status"] == "active"

    # When Get Started removes it
    body = setup_client.ok({"type": "removeConnection", "connectionId": chat["id"]})

    # Then both views agree: no connection, and the agent is inactive with no connection ids
    assert body["connections"] == []
    data, _ = data_client.data()
    assert data["connections"] == []
    assert (agent(data, "agent-default-1")["status"], agent(data, "agent-default-1")["connectionIds"]) == (
        "inactive",
        [],
    )
    assert workspace(data, "ws-1")["connectedApps"] == []


def test_deactivating_in_get_started_makes_the_agent_inactive_in_user_data(
    setup_client: SetupClient, data_client: Client
) -> None:
    # Given an active target agent serving one WhatsApp connection
    data_client.ok(
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT}
    )
    wa = add(setup_client, "whatsapp", phoneNumber="+14155550100")

    # When Get Started switches the connection off
    setup_client.ok({"type": "updateConnection", "connectionId": wa["id"], "active": False})

    # Then the agent has no active connection: inactive; the app still counts as connected
    data, _ = data_client.data()
    assert agent(data, "agent-default-1")["status"] == "inactive"
    assert workspace(data, "ws-1")["connectedApps"] == ["Chatti Live"]


def test_connections_are_stored_once(setup_client: SetupClient) -> None:
    # Given a connection added through Get Started
    added = add(setup_client)

    # When the stored items are inspected
    items = stored_items(setup_client.user_id)

    # Then the connection lives in ws-1's workspace item only, and the id index names it
    import json

    from ciq.store.codec import decode_body
    from ciq.store.fragments import decode_workspace

    def text(sk: str, item: dict[str, Any]) -> bytes:
        return decode_workspace(item)[0].to_json_bytes() if sk.startswith("D#WS#") else decode_body(item)

    root = json.loads(decode_body(items["D#ROOT"]))
    index = json.loads(decode_body(items["D#INDEX"]))
    workspaces = [sk for sk in items if sk.startswith("D#WS#")]
    holders = [sk for sk in workspaces if added["id"].encode() in text(sk, items[sk])]
    assert holders == ["D#WS#ws-1"]
    assert added["id"] not in json.dumps(root)
    assert added["id"] in index["homes"]["ws-1"]
