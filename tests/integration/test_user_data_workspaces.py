"""Workspaces, groups, profile and node positions through POST /api/user-data (CONTRACT §2.1,
§2.2, §4, §9 "Order", "Cascades", §10 "Ids and names", "Small ones")."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import Client, agent, kb, paths, workspace

GENERATED = re.compile(r"^(ws|kb|agent|conn|grp)-[A-Za-z0-9_-]{1,64}$")


def names(data: dict) -> list[str]:
    return [w["name"] for w in data["workspaces"]]


# -- workspace.create ------------------------------------------------------------------------------
def test_workspace_create_makes_a_blank_kb_and_a_default_agent_bound_to_it(client: Client) -> None:
    # Given a user with the defaults
    _, version = client.data()

    # When they create a workspace
    body = client.ok({"type": "workspace.create", "name": "  Spring campaign ", "description": "Promos"})

    # Then the result names the workspace and the KB and agent it made
    [result] = body["results"]
    assert result["type"] == "workspace.create"
    assert result["id"].startswith("ws-") and GENERATED.match(result["id"])
    assert result["knowledgeBaseId"].startswith("kb-") and GENERATED.match(result["knowledgeBaseId"])
    assert result["agentId"].startswith("agent-") and GENERATED.match(result["agentId"])
    assert body["version"] == version + 1
    data = body["data"]
    created = workspace(data, result["id"])
    assert created["name"] == "Spring campaign"  # names are trimmed
    assert created["description"] == "Promos"
    assert created["groupId"] == "default"
    assert (created["defaultKbId"], created["defaultAgentId"]) == (
        result["knowledgeBaseId"],
        result["agentId"],
    )
    assert created["numberOfKnowledgeBases"] == 1
    new_kb, new_agent = kb(data, result["knowledgeBaseId"]), agent(data, result["agentId"])
    assert (new_kb["workspaceId"], new_kb["name"], new_kb["status"]) == (
        result["id"],
        "My Knowledge Base",
        "incomplete",
    )
    assert new_kb["groupId"] == "default"  # copied from its workspace
    assert all(v is None for v in new_kb["draft"].values())
    assert (new_agent["workspaceId"], new_agent["knowledgeBaseId"], new_agent["name"]) == (
        result["id"],
        result["knowledgeBaseId"],
        "My Agent",
    )
    assert new_agent["status"] == "draft"
    # and the new workspace comes last
    assert names(data) == ["My Workspace", "Spring campaign"]
    assert client.data() == (data, body["version"])


def test_workspace_create_in_a_group_and_with_a_proposed_id(client: Client) -> None:
    # Given a user with a group of their own
    group_id = client.ok({"type": "group.create", "name": "Clients"})["results"][0]["id"]

    # When they create a workspace in it with an id they chose
    body = client.ok({"type": "workspace.create", "id": "ws-mine_1", "name": "Acme", "groupId": group_id})

    # Then the workspace keeps that id and sits in that group, its KB too
    assert body["results"][0]["id"] == "ws-mine_1"
    data = body["data"]
    assert workspace(data, "ws-mine_1")["groupId"] == group_id
    assert kb(data, workspace(data, "ws-mine_1")["defaultKbId"])["groupId"] == group_id


@pytest.mark.parametrize(
    ("mutation", "status", "code", "path"),
    [
        ({"type": "workspace.create", "id": "ws-1", "name": "X"}, 409, "id_taken", "/id"),
        ({"type": "workspace.create", "id": "kb-default-1", "name": "X"}, 409, "id_taken", "/id"),
        ({"type": "workspace.create", "id": "workspace-1", "name": "X"}, 422, "validation_failed", "/id"),
        ({"type": "workspace.create", "id": "ws-" + "a" * 65, "name": "X"}, 422, "validation_failed", "/id"),
        ({"type": "workspace.create", "name": "X", "groupId": "grp-nope"}, 404, "not_found", "/groupId"),
        ({"type": "workspace.create", "name": "   "}, 422, "validation_failed", "/name"),
        ({"type": "workspace.create", "name": "x" * 121}, 422, "validation_failed", "/name"),
        ({"type": "workspace.create"}, 422, "validation_failed", "/name"),
        (
            {"type": "workspace.create", "name": "X", "description": "d" * 2001},
            422,
            "validation_failed",
            "/description",
        ),
        ({"type": "workspace.create", "name": None}, 422, "validation_failed", "/name"),
    ],
)
def test_workspace_create_refusals(client: Client, mutation: dict, status: int, code: str, path: str) -> None:
    # Given a user with the defaults
    # When a workspace.create breaks a rule
    error = client.fails(mutation, status, code)

    # Then the error points at the offending field
    assert path in paths(error)


def test_names_and_descriptions_at_their_limits_are_accepted(client: Client) -> None:
    # Given a user
    # When a workspace gets a 120-char name and a 2,000-char description
    body = client.ok({"type": "workspace.create", "name": "n" * 120, "description": "d" * 2000})

    # Then both are stored as sent
    created = workspace(body["data"], body["results"][0]["id"])
    assert (len(created["name"]), len(created["description"])) == (120, 2000)


# -- workspace.update ------------------------------------------------------------------------------
def test_workspace_update_changes_only_the_given_fields(client: Client) -> None:
    # Given a workspace with an image
    client.ok({"type": "workspace.update", "workspaceId": "ws-1", "image": "https://img.example.com/a.png"})
    before, _ = client.data()

    # When only its name changes
    data = client.ok({"type": "workspace.update", "workspaceId": "ws-1", "name": "Renamed"})["data"]

    # Then the name changed and nothing else the user set did
    updated, old = workspace(data, "ws-1"), workspace(before, "ws-1")
    assert updated["name"] == "Renamed"
    assert updated["description"] == old["description"]
    assert updated["image"] == "https://img.example.com/a.png"
    assert updated["updatedAt"] >= old["updatedAt"]

    # And an image can be cleared with null
    data = client.ok({"type": "workspace.update", "workspaceId": "ws-1", "image": None})["data"]
    assert "image" not in workspace(data, "ws-1")


def test_workspace_update_default_kb_and_agent_within_the_workspace(client: Client) -> None:
    # Given a second KB and agent in ws-1
    client.ok(
        {"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"},
        {
            "type": "agent.create",
            "id": "agent-two",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-two",
            "name": "Two",
        },
    )

    # When they become the workspace's defaults
    data = client.ok(
        {
            "type": "workspace.update",
            "workspaceId": "ws-1",
            "defaultKbId": "kb-two",
            "defaultAgentId": "agent-two",
        }
    )["data"]

    # Then the workspace points at them
    assert (workspace(data, "ws-1")["defaultKbId"], workspace(data, "ws-1")["defaultAgentId"]) == (
        "kb-two",
        "agent-two",
    )


@pytest.mark.parametrize(
    ("field", "reference", "status", "code"),
    [
        ("defaultKbId", "other-kb", 409, "invariant_violation"),
        ("defaultAgentId", "other-agent", 409, "invariant_violation"),
        ("defaultKbId", "kb-missing", 404, "not_found"),
        ("defaultAgentId", "agent-missing", 404, "not_found"),
        ("groupId", "grp-missing", 404, "not_found"),
    ],
)
def test_workspace_update_references_must_stay_inside_the_workspace(
    client: Client, field: str, reference: str, status: int, code: str
) -> None:
    # Given a second workspace with its own KB and agent
    result = client.ok({"type": "workspace.create", "name": "Other"})["results"][0]
    actual = {"other-kb": result["knowledgeBaseId"], "other-agent": result["agentId"]}.get(
        reference, reference
    )

    # When ws-1 names one of them (or an unknown id) as its default
    error = client.fails({"type": "workspace.update", "workspaceId": "ws-1", field: actual}, status, code)

    # Then it is refused, pointing at the field
    assert paths(error) == [f"/{field}"]


def test_workspace_update_of_an_unknown_workspace_is_404(client: Client) -> None:
    error = client.fails(
        {"type": "workspace.update", "workspaceId": "ws-nope", "name": "X"}, 404, "not_found"
    )
    assert paths(error) == ["/workspaceId"]


def test_workspace_update_refuses_null_where_a_field_cannot_be_cleared(client: Client) -> None:
    # Given a workspace; When its name is sent as null; Then 422 on /name (only image is clearable)
    error = client.fails(
        {"type": "workspace.update", "workspaceId": "ws-1", "name": None}, 422, "validation_failed"
    )
    assert paths(error) == ["/name"]


# -- workspace.duplicate ---------------------------------------------------------------------------
def test_duplicate_copies_own_fields_only_and_sits_right_after_its_source(client: Client) -> None:
    # Given three workspaces, the first with a group, an image, a connection, a filled KB and a second agent
    group_id = client.ok({"type": "group.create", "name": "G"})["results"][0]["id"]
    client.ok(
        {
            "type": "workspace.update",
            "workspaceId": "ws-1",
            "groupId": group_id,
            "description": "Mine",
            "image": "https://img.example.com/x.png",
        },
        {"type": "workspace.create", "name": "Second"},
        {"type": "workspace.create", "name": "Third"},
        {"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat"},
        {"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "Extra"},
        {
            "type": "knowledgeBase.update",
            "knowledgeBaseId": "kb-default-1",
            "draft": {"greetings": {"presets": ["hi"], "customText": ""}},
        },
    )
    before, _ = client.data()

    # When the first workspace is duplicated
    body = client.ok({"type": "workspace.duplicate", "workspaceId": "ws-1"})

    # Then the copy comes right after its source, named with " (Copy)", with the source's own fields
    result = body["results"][0]
    data = body["data"]
    assert names(data) == ["My Workspace", "My Workspace (Copy)", "Second", "Third"]
    copy = workspace(data, result["id"])
    source = workspace(data, "ws-1")
    assert copy["id"] != "ws-1"
    assert (copy["description"], copy["groupId"], copy["image"]) == (
        source["description"],
        source["groupId"],
        source["image"],
    )
    # but not its KBs, agents or connections: a blank KB and a default agent of its own
    assert [k["id"] for k in data["knowledgeBases"] if k["workspaceId"] == copy["id"]] == [
        result["knowledgeBaseId"]
    ]
    new_kb = kb(data, result["knowledgeBaseId"])
    assert new_kb["status"] == "incomplete"
    assert new_kb["groupId"] == group_id
    assert all(v is None for v in new_kb["draft"].values())
    assert [a["id"] for a in data["agents"] if a["workspaceId"] == copy["id"]] == [result["agentId"]]
    assert agent(data, result["agentId"])["name"] == "My Agent"
    assert not [c for c in data["connections"] if c["workspaceId"] == copy["id"]]
    assert copy["connectedApps"] == [] and copy["appsActivated"] is False
    # the source is untouched
    assert workspace(before, "ws-1") == source
    # and the order is stored
    assert names(client.data()[0]) == names(data)


def test_a_copy_of_a_copy_and_a_name_at_the_length_limit(client: Client) -> None:
    # Given a copy of the default workspace
    first = client.ok({"type": "workspace.duplicate", "workspaceId": "ws-1"})["results"][0]["id"]

    # When the copy is copied
    data = client.ok({"type": "workspace.duplicate", "workspaceId": first})["data"]

    # Then its name is "X (Copy) (Copy)", right after the copy it came from
    assert names(data) == ["My Workspace", "My Workspace (Copy)", "My Workspace (Copy) (Copy)"]

    # And a 120-char name keeps 120 chars: the base is shortened, never the suffix
    long_name = "L" * 119 + "Z"
    ws_id = client.ok({"type": "workspace.create", "name": long_name})["results"][0]["id"]
    data = client.ok({"type": "workspace.duplicate", "workspaceId": ws_id})["data"]
    copy_name = data["workspaces"][[w["id"] for w in data["workspaces"]].index(ws_id) + 1]["name"]
    assert copy_name == "L" * 113 + " (Copy)"
    assert len(copy_name) == 120


def test_duplicate_of_an_unknown_workspace_is_404(client: Client) -> None:
    client.fails({"type": "workspace.duplicate", "workspaceId": "ws-nope"}, 404, "not_found")


# -- workspace.delete ------------------------------------------------------------------------------
def test_the_last_workspace_cannot_be_deleted(client: Client) -> None:
    # Given a user with only the default workspace
    # When they delete it
    error = client.fails({"type": "workspace.delete", "workspaceId": "ws-1"}, 409, "invariant_violation")

    # Then it is refused, pointing at the workspace
    assert paths(error) == ["/workspaceId"]


def test_workspace_delete_removes_everything_it_holds(client: Client) -> None:
    # Given a second workspace with KBs, agents, connections and node positions
    result = client.ok({"type": "workspace.create", "name": "Doomed"})["results"][0]
    ws_id = result["id"]
    client.ok(
        {"type": "knowledgeBase.create", "workspaceId": ws_id, "name": "KB2"},
        {"type": "connection.create", "workspaceId": ws_id, "family": "sms", "phoneNumber": "+14155550111"},
        {
            "type": "connection.create",
            "workspaceId": ws_id,
            "family": "social-comments",
            "platform": "facebook",
        },
        {"type": "nodePositions.set", "workspaceId": ws_id, "positions": {"n1": {"x": 1, "y": 2}}},
        {"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {"n1": {"x": 3, "y": 4}}},
    )
    before, version = client.data()

    # When it is deleted
    body = client.ok({"type": "workspace.delete", "workspaceId": ws_id})

    # Then nothing of it is left, and the other workspace is untouched
    data = body["data"]
    assert body["results"] == [{"type": "workspace.delete", "id": ws_id}]
    assert body["version"] == version + 1
    assert [w["id"] for w in data["workspaces"]] == ["ws-1"]
    for collection in ("knowledgeBases", "agents", "connections"):
        assert all(item["workspaceId"] == "ws-1" for item in data[collection])
    assert data["nodePositions"] == {"ws-1": {"n1": {"x": 3.0, "y": 4.0}}}
    for collection in ("knowledgeBases", "agents", "connections"):
        assert data[collection] == [i for i in before[collection] if i["workspaceId"] == "ws-1"]
    assert client.data() == (data, body["version"])


def test_delete_of_an_unknown_workspace_is_404(client: Client) -> None:
    client.ok({"type": "workspace.create", "name": "Two"})
    client.fails({"type": "workspace.delete", "workspaceId": "ws-nope"}, 404, "not_found")


# -- workspace.reorder -----------------------------------------------------------------------------
def _three_workspaces(client: Client) -> list[str]:
    body = client.ok({"type": "workspace.create", "name": "B"}, {"type": "workspace.create", "name": "C"})
    return ["ws-1"] + [r["id"] for r in body["results"]]


def test_reorder_stores_the_given_permutation(client: Client) -> None:
    # Given three workspaces A (ws-1), B, C
    ids = _three_workspaces(client)

    # When they are reordered C, A, B
    order = [ids[2], ids[0], ids[1]]
    body = client.ok({"type": "workspace.reorder", "workspaceIds": order})

    # Then the data lists them in that order, now and on later reads, and new ones come last
    assert [w["id"] for w in body["data"]["workspaces"]] == order
    assert [w["id"] for w in client.data()[0]["workspaces"]] == order
    created = client.ok({"type": "workspace.create", "name": "D"})["results"][0]["id"]
    assert [w["id"] for w in client.data()[0]["workspaces"]] == [*order, created]


@pytest.mark.parametrize(
    ("make_ids", "status", "code", "path"),
    [
        (lambda ids: [ids[0], ids[1], "ws-unknown"], 404, "not_found", "/workspaceIds/2"),
        (lambda ids: [ids[0], ids[1]], 422, "validation_failed", "/workspaceIds"),
        (lambda ids: [ids[0], ids[1], ids[1]], 422, "validation_failed", "/workspaceIds"),
        (lambda ids: [ids[0], ids[1], ids[2], ids[2]], 422, "validation_failed", "/workspaceIds"),
        (lambda ids: [], 422, "validation_failed", "/workspaceIds"),
    ],
)
def test_reorder_needs_a_permutation_of_all_workspaces(
    client: Client, make_ids, status: int, code: str, path: str
) -> None:
    # Given three workspaces
    ids = _three_workspaces(client)

    # When the reorder is not a permutation of them
    error = client.fails({"type": "workspace.reorder", "workspaceIds": make_ids(ids)}, status, code)

    # Then it is refused and the order is unchanged (checked by `fails`)
    assert path in paths(error)


# -- groups ----------------------------------------------------------------------------------------
def test_group_create_update_and_delete_moves_members_to_default(client: Client) -> None:
    # Given a group holding a workspace, whose KB is in it too, and a KB of ws-1 moved into it
    body = client.ok({"type": "group.create", "name": "  Agency   clients "})
    group_id = body["results"][0]["id"]
    assert group_id.startswith("grp-") and GENERATED.match(group_id)
    assert {"id": group_id, "name": "Agency   clients"} in body["data"]["groups"]
    client.ok({"type": "group.update", "groupId": group_id, "name": "Clients"})
    result = client.ok({"type": "workspace.create", "name": "Acme", "groupId": group_id})["results"][0]
    client.ok({"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "groupId": group_id})
    data, _ = client.data()
    assert {"id": group_id, "name": "Clients"} in data["groups"]
    assert kb(data, result["knowledgeBaseId"])["groupId"] == group_id
    assert kb(data, "kb-default-1")["groupId"] == group_id

    # When the group is deleted
    data = client.ok({"type": "group.delete", "groupId": group_id})["data"]

    # Then it is gone and its workspaces and KBs are in the default group
    assert [g["id"] for g in data["groups"]] == ["default"]
    assert workspace(data, result["id"])["groupId"] == "default"
    assert kb(data, result["knowledgeBaseId"])["groupId"] == "default"
    assert kb(data, "kb-default-1")["groupId"] == "default"
    assert workspace(data, "ws-1")["groupId"] == "default"


def test_the_default_group_cannot_be_deleted(client: Client) -> None:
    error = client.fails({"type": "group.delete", "groupId": "default"}, 409, "invariant_violation")
    assert paths(error) == ["/groupId"]


@pytest.mark.parametrize(
    "mutation",
    [
        {"type": "group.update", "groupId": "grp-nope", "name": "X"},
        {"type": "group.delete", "groupId": "grp-nope"},
    ],
)
def test_unknown_groups_are_404(client: Client, mutation: dict) -> None:
    client.fails(mutation, 404, "not_found")


def test_the_default_group_can_be_renamed(client: Client) -> None:
    data = client.ok({"type": "group.update", "groupId": "default", "name": "Everything"})["data"]
    assert data["groups"] == [{"id": "default", "name": "Everything"}]


def test_group_create_with_a_taken_id_is_409(client: Client) -> None:
    client.ok({"type": "group.create", "id": "grp-a", "name": "A"})
    client.fails({"type": "group.create", "id": "grp-a", "name": "B"}, 409, "id_taken")


# -- profile ---------------------------------------------------------------------------------------
def test_profile_update_changes_only_the_given_fields(client: Client) -> None:
    # Given a user with a profile from sign-up
    before, _ = client.data()

    # When they change their company and phone
    body = client.ok({"type": "profile.update", "company": "Acme Ltd", "phone": "+442071838750"})

    # Then those change; the rest, email included, stays
    profile = body["data"]["profile"]
    assert body["results"] == [{"type": "profile.update", "id": client.user_id}]
    assert (profile["company"], profile["phone"]) == ("Acme Ltd", "+442071838750")
    for name in ("email", "firstName", "lastName", "userId", "createdAt"):
        assert profile[name] == before["profile"][name]


@pytest.mark.parametrize(
    ("mutation", "path"),
    [
        ({"type": "profile.update", "email": "new@example.com"}, "/email"),
        ({"type": "profile.update", "phone": "0207 183 8750"}, "/phone"),
        ({"type": "profile.update", "firstName": ""}, "/firstName"),
        ({"type": "profile.update", "userId": "u-other"}, "/userId"),
    ],
)
def test_profile_update_refusals(client: Client, mutation: dict, path: str) -> None:
    error = client.fails(mutation, 422, "validation_failed")
    assert path in paths(error)


# -- nodePositions.set -----------------------------------------------------------------------------
def test_node_positions_set_replaces_the_workspace_map(client: Client) -> None:
    # Given positions for two nodes of ws-1
    client.ok(
        {
            "type": "nodePositions.set",
            "workspaceId": "ws-1",
            "positions": {"kb-default-1": {"x": 10, "y": 20}, "agent-default-1": {"x": 1.5, "y": -2}},
        }
    )

    # When the map is set again with one other node
    body = client.ok(
        {"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {"conn-x": {"x": 0, "y": 0}}}
    )

    # Then only that node is left (replaced, not merged)
    assert body["results"] == [{"type": "nodePositions.set", "id": "ws-1"}]
    assert body["data"]["nodePositions"] == {"ws-1": {"conn-x": {"x": 0.0, "y": 0.0}}}

    # And an empty map clears the workspace's positions
    assert (
        client.ok({"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {}})["data"][
            "nodePositions"
        ]
        == {}
    )


@pytest.mark.parametrize(
    ("mutation", "status", "code"),
    [
        ({"type": "nodePositions.set", "workspaceId": "ws-nope", "positions": {}}, 404, "not_found"),
        (
            {"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {"n": {"x": 1}}},
            422,
            "validation_failed",
        ),
        (
            {"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {"n": {"x": "a", "y": 1}}},
            422,
            "validation_failed",
        ),
        ({"type": "nodePositions.set", "workspaceId": "ws-1"}, 422, "validation_failed"),
    ],
)
def test_node_positions_refusals(client: Client, mutation: dict, status: int, code: str) -> None:
    client.fails(mutation, status, code)
