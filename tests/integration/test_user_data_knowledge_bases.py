"""Knowledge bases through POST /api/user-data: create, partial draft updates and the status
validateKbDraft derives, and the delete rules (CONTRACT §1 KbDraftState, §2.3, §9 "Cascades",
"Limits")."""

from __future__ import annotations

import pytest

from tests.integration.conftest import COMPLETE_DRAFT, Client, agent, connection, kb, paths, value, workspace

REQUIRED = ["brandPersonality", "primaryObjective", "greetings", "closing", "defaultCta"]


def test_knowledge_base_create_defaults(client: Client) -> None:
    # Given ws-1 moved into a group of the user's
    group_id = client.ok({"type": "group.create", "name": "G"})["results"][0]["id"]
    client.ok({"type": "workspace.update", "workspaceId": "ws-1", "groupId": group_id})

    # When a KB is created without a name or draft
    body = client.ok({"type": "knowledgeBase.create", "workspaceId": "ws-1"})

    # Then it is "My Knowledge Base", blank and incomplete, in its workspace's group, with no agent
    kb_id = body["results"][0]["id"]
    assert kb_id.startswith("kb-")
    created = kb(body["data"], kb_id)
    assert created["name"] == "My Knowledge Base"
    assert created["workspaceId"] == "ws-1"
    assert created["groupId"] == group_id
    assert created["status"] == "incomplete"
    assert all(v is None for v in created["draft"].values())
    assert created["agentsSetCount"] == 0
    assert workspace(body["data"], "ws-1")["numberOfKnowledgeBases"] == 2
    # the workspace's default KB did not change
    assert workspace(body["data"], "ws-1")["defaultKbId"] == "kb-default-1"


def test_knowledge_base_create_with_a_complete_draft_is_complete(client: Client) -> None:
    # Given a user; When a KB is created with the five required fields set
    body = client.ok(
        {"type": "knowledgeBase.create", "workspaceId": "ws-1", "name": "Sales", "draft": COMPLETE_DRAFT}
    )

    # Then its status is derived as complete and the draft is stored as sent (other keys pristine)
    created = kb(body["data"], body["results"][0]["id"])
    assert created["status"] == "complete"
    assert created["name"] == "Sales"
    for key, expected in COMPLETE_DRAFT.items():
        assert created["draft"][key] == expected
    assert created["draft"]["emojis"] is None
    assert created["draft"]["customObjectives"] is None


def test_a_client_cannot_set_derived_kb_fields(client: Client) -> None:
    # Given a user; When a KB create carries status (derived), Then it is a 422 naming the field
    error = client.fails(
        {"type": "knowledgeBase.create", "workspaceId": "ws-1", "status": "complete"},
        422,
        "validation_failed",
    )
    assert paths(error) == ["/status"]


@pytest.mark.parametrize(
    ("mutation", "status", "code", "path"),
    [
        ({"type": "knowledgeBase.create", "workspaceId": "ws-nope"}, 404, "not_found", "/workspaceId"),
        (
            {"type": "knowledgeBase.create", "workspaceId": "ws-1", "groupId": "grp-x"},
            404,
            "not_found",
            "/groupId",
        ),
        (
            {"type": "knowledgeBase.create", "workspaceId": "ws-1", "id": "kb-default-1"},
            409,
            "id_taken",
            "/id",
        ),
        (
            {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-nope", "name": "X"},
            404,
            "not_found",
            "/knowledgeBaseId",
        ),
        (
            {"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-nope"},
            404,
            "not_found",
            "/knowledgeBaseId",
        ),
        (
            {
                "type": "knowledgeBase.update",
                "knowledgeBaseId": "kb-default-1",
                "draft": {"greetings": {"presets": [], "customText": "x" * 5001}},
            },
            422,
            "validation_failed",
            "/draft/greetings/customText",
        ),
        (
            {
                "type": "knowledgeBase.update",
                "knowledgeBaseId": "kb-default-1",
                "draft": {"greetings": {"presets": ["p"] * 51, "customText": ""}},
            },
            422,
            "validation_failed",
            "/draft/greetings/presets",
        ),
        (
            {
                "type": "knowledgeBase.update",
                "knowledgeBaseId": "kb-default-1",
                "draft": {
                    "customObjectives": [{"id": str(i), "title": "t", "text": "x"} for i in range(101)]
                },
            },
            422,
            "validation_failed",
            "/draft/customObjectives",
        ),
        (
            {
                "type": "knowledgeBase.update",
                "knowledgeBaseId": "kb-default-1",
                "draft": {"tone": {"presets": [], "customText": "x"}},
            },
            422,
            "validation_failed",
            "/draft/tone",
        ),
        (
            {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "name": "   "},
            422,
            "validation_failed",
            "/name",
        ),
        (
            {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": None},
            422,
            "validation_failed",
            "/draft",
        ),
    ],
)
def test_knowledge_base_refusals(client: Client, mutation: dict, status: int, code: str, path: str) -> None:
    # Given the defaults; When a KB mutation breaks a rule; Then it is refused at the field's path
    error = client.fails(mutation, status, code)
    assert path in paths(error)


def test_draft_limits_are_inclusive(client: Client) -> None:
    # Given the default KB
    # When a draft uses each limit exactly (5,000 chars, 50 presets, 100 custom objectives)
    body = client.ok(
        {
            "type": "knowledgeBase.update",
            "knowledgeBaseId": "kb-default-1",
            "draft": {
                "greetings": {"presets": [f"p{i}" for i in range(50)], "customText": "x" * 5000},
                "customObjectives": [{"id": f"o{i}", "title": "t", "text": "y"} for i in range(100)],
            },
        }
    )

    # Then it is stored
    draft = kb(body["data"], "kb-default-1")["draft"]
    assert len(draft["greetings"]["presets"]) == 50
    assert len(draft["customObjectives"]) == 100


def test_draft_update_replaces_only_the_given_keys(client: Client) -> None:
    # Given a KB whose draft has greetings and closing set
    client.ok(
        {
            "type": "knowledgeBase.update",
            "knowledgeBaseId": "kb-default-1",
            "draft": {"greetings": value("Hello"), "closing": value("Bye")},
        }
    )

    # When an update gives greetings (new value) and emojis only
    body = client.ok(
        {
            "type": "knowledgeBase.update",
            "knowledgeBaseId": "kb-default-1",
            "draft": {"greetings": {"presets": ["warm"], "customText": ""}, "emojis": value("yes")},
        }
    )

    # Then greetings is replaced whole, emojis is set, and closing is untouched
    draft = kb(body["data"], "kb-default-1")["draft"]
    assert draft["greetings"] == {"presets": ["warm"], "customText": ""}
    assert draft["emojis"] == value("yes")
    assert draft["closing"] == value("Bye")
    assert draft["brandPersonality"] is None

    # And a key given as null goes back to pristine
    body = client.ok(
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": {"closing": None}}
    )
    assert kb(body["data"], "kb-default-1")["draft"]["closing"] is None
    assert kb(body["data"], "kb-default-1")["draft"]["greetings"] == {"presets": ["warm"], "customText": ""}


def test_status_flips_to_complete_when_the_five_required_fields_are_set(client: Client) -> None:
    # Given the default KB with optional fields set and required ones set one by one
    data = client.ok(
        {
            "type": "knowledgeBase.update",
            "knowledgeBaseId": "kb-default-1",
            "draft": {
                "secondaryObjective": value(),
                "emojis": value(),
                "hashtags": value(),
                "exceptions": value(),
                "clarifications": value(),
                "customObjectives": [{"id": "o1", "title": "Upsell", "text": "Offer the pro plan"}],
            },
        }
    )["data"]
    assert kb(data, "kb-default-1")["status"] == "incomplete"
    for index, key in enumerate(REQUIRED):
        # When one more required field is set
        data = client.ok(
            {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": {key: value()}}
        )["data"]

        # Then the KB is complete only once all five are set; its agent follows (draft -> inactive)
        complete = index == len(REQUIRED) - 1
        assert kb(data, "kb-default-1")["status"] == ("complete" if complete else "incomplete")
        assert agent(data, "agent-default-1")["status"] == ("inactive" if complete else "draft")

    # And a required field set to blank text again makes it incomplete
    data = client.ok(
        {
            "type": "knowledgeBase.update",
            "knowledgeBaseId": "kb-default-1",
            "draft": {"defaultCta": {"presets": [], "customText": "   "}},
        }
    )["data"]
    assert kb(data, "kb-default-1")["status"] == "incomplete"
    assert agent(data, "agent-default-1")["status"] == "draft"


def test_knowledge_base_update_name_and_group(client: Client) -> None:
    # Given a group
    group_id = client.ok({"type": "group.create", "name": "G"})["results"][0]["id"]

    # When the default KB is renamed and moved to it
    body = client.ok(
        {
            "type": "knowledgeBase.update",
            "knowledgeBaseId": "kb-default-1",
            "name": "Support",
            "groupId": group_id,
        }
    )

    # Then both change and the workspace stays where it was
    updated = kb(body["data"], "kb-default-1")
    assert (updated["name"], updated["groupId"]) == ("Support", group_id)
    assert workspace(body["data"], "ws-1")["groupId"] == "default"
    assert body["results"] == [{"type": "knowledgeBase.update", "id": "kb-default-1"}]


# -- delete ----------------------------------------------------------------------------------------
def test_a_workspaces_only_kb_cannot_be_deleted(client: Client) -> None:
    error = client.fails(
        {"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-default-1"}, 409, "invariant_violation"
    )
    assert paths(error) == ["/knowledgeBaseId"]


def test_a_kb_with_agents_cannot_be_deleted(client: Client) -> None:
    # Given a second KB with two agents
    client.ok(
        {"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"},
        {
            "type": "agent.create",
            "id": "agent-a",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-two",
            "name": "A",
        },
        {
            "type": "agent.create",
            "id": "agent-b",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-two",
            "name": "B",
        },
    )

    # When it is deleted
    error = client.fails(
        {"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-two"}, 409, "invariant_violation"
    )

    # Then the details name each assigned agent
    assert [d["code"] for d in error["details"]] == ["agents_assigned", "agents_assigned"]
    assert "agent-a" in error["details"][0]["message"]
    assert "agent-b" in error["details"][1]["message"]


def test_the_default_kb_cannot_be_deleted_until_another_is_the_default(client: Client) -> None:
    # Given a second KB and the default agent moved onto it
    client.ok(
        {"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"},
        {"type": "agent.update", "agentId": "agent-default-1", "knowledgeBaseId": "kb-two"},
    )

    # When the (now agent-less) default KB is deleted
    error = client.fails(
        {"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-default-1"}, 409, "invariant_violation"
    )

    # Then it is refused because it is the default
    assert [d["code"] for d in error["details"]] == ["default_knowledge_base"]

    # And once another KB is the default, it can go
    client.ok({"type": "workspace.update", "workspaceId": "ws-1", "defaultKbId": "kb-two"})
    data = client.ok({"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-default-1"})["data"]
    assert [k["id"] for k in data["knowledgeBases"]] == ["kb-two"]


def test_deleting_a_kb_moves_its_kb_owned_connections_to_the_default_kb(client: Client) -> None:
    # Given a second KB owning a social and a review connection, and a web-chat on the default agent
    client.ok(
        {"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"},
        {
            "type": "connection.create",
            "id": "conn-social",
            "workspaceId": "ws-1",
            "family": "social-comments",
            "platform": "instagram",
            "knowledgeBaseId": "kb-two",
        },
        {
            "type": "connection.create",
            "id": "conn-review",
            "workspaceId": "ws-1",
            "family": "review-platforms",
            "platform": "yelp",
            "knowledgeBaseId": "kb-two",
        },
        {"type": "connection.create", "id": "conn-chat", "workspaceId": "ws-1", "family": "web-chat"},
    )

    # When the second KB is deleted
    body = client.ok({"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-two"})

    # Then its connections now belong to the workspace's default KB; nothing else moved
    data = body["data"]
    assert body["results"] == [{"type": "knowledgeBase.delete", "id": "kb-two"}]
    assert connection(data, "conn-social")["knowledgeBaseId"] == "kb-default-1"
    assert connection(data, "conn-review")["knowledgeBaseId"] == "kb-default-1"
    assert connection(data, "conn-chat")["agentId"] == "agent-default-1"
    assert workspace(data, "ws-1")["numberOfKnowledgeBases"] == 1
    assert client.data() == (data, body["version"])


def test_a_kb_of_another_workspace_keeps_its_workspace(client: Client) -> None:
    # Given a second workspace; When a KB is created there and a KB-owned connection of ws-1 names it
    other = client.ok({"type": "workspace.create", "name": "Other"})["results"][0]

    # Then the reference across workspaces is refused (409), not silently accepted
    error = client.fails(
        {
            "type": "connection.create",
            "workspaceId": "ws-1",
            "family": "social-comments",
            "platform": "threads",
            "knowledgeBaseId": other["knowledgeBaseId"],
        },
        409,
        "invariant_violation",
    )
    assert paths(error) == ["/knowledgeBaseId"]
