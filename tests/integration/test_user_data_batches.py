"""Batches, malformed requests and tenant isolation on POST /api/user-data (CONTRACT §4 errors,
§9 "Errors", "Limits", "Not yours = not found", §10 "Small ones"). Every refusal leaves the stored
data and version as they were (`Client.fails` reads before and after)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.conftest import api_event, invoke
from tests.integration.conftest import Client, paths, workspace

if TYPE_CHECKING:
    from types import ModuleType


def test_a_batch_applies_in_order_and_returns_one_result_per_mutation(client: Client) -> None:
    # Given the defaults
    _, version = client.data()

    # When a batch creates a workspace, then uses the id it proposed, then updates the profile
    body = client.ok(
        {"type": "workspace.create", "id": "ws-new", "name": "New"},
        {"type": "knowledgeBase.create", "id": "kb-new", "workspaceId": "ws-new", "name": "Second"},
        {"type": "profile.update", "company": "Acme"},
    )

    # Then every change is applied in one write (one version bump), with results in order
    assert body["version"] == version + 1
    assert [(r["type"], r["id"]) for r in body["results"]] == [
        ("workspace.create", "ws-new"),
        ("knowledgeBase.create", "kb-new"),
        ("profile.update", client.user_id),
    ]
    assert workspace(body["data"], "ws-new")["numberOfKnowledgeBases"] == 2
    assert body["data"]["profile"]["company"] == "Acme"


def test_a_single_mutation_also_answers_with_a_results_list(client: Client) -> None:
    body = client.ok({"type": "workspace.reorder", "workspaceIds": ["ws-1"]})
    assert body["results"] == [{"type": "workspace.reorder", "id": None}]
    assert set(body) == {"data", "version", "results"}


def test_a_batch_is_all_or_nothing(client: Client) -> None:
    # Given the defaults
    # When the 3rd mutation of a batch fails (after two that would succeed)
    error = client.fails(
        {
            "mutations": [
                {"type": "workspace.create", "name": "Would exist"},
                {"type": "profile.update", "company": "Would change"},
                {"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-default-1"},
            ]
        },
        409,
        "invariant_violation",
    )

    # Then nothing was applied (checked by `fails`), and the error points into the 3rd mutation
    assert paths(error) == ["/mutations/2/knowledgeBaseId"]


@pytest.mark.parametrize(
    ("third", "status", "code", "path"),
    [
        (
            {"type": "workspace.update", "workspaceId": "ws-nope"},
            404,
            "not_found",
            "/mutations/2/workspaceId",
        ),
        (
            {"type": "workspace.create", "name": "X", "colour": "red"},
            422,
            "validation_failed",
            "/mutations/2/colour",
        ),
        ({"type": "workspace.create"}, 422, "validation_failed", "/mutations/2/name"),
        ({"type": "workspace.explode"}, 400, "unknown_mutation", "/mutations/2/type"),
        ({"name": "no type"}, 400, "unknown_mutation", "/mutations/2/type"),
        ("not an object", 400, "unknown_mutation", "/mutations/2/type"),
    ],
)
def test_batch_errors_point_into_the_failing_mutation(
    client: Client, third: object, status: int, code: str, path: str
) -> None:
    batch = {
        "mutations": [{"type": "workspace.create", "name": "A"}, {"type": "group.create", "name": "G"}, third]
    }
    error = client.fails(batch, status, code)
    assert path in paths(error)


def test_a_batch_of_25_is_accepted_and_26_is_413(client: Client) -> None:
    # Given the defaults
    # When 26 mutations are sent, Then 413 payload_too_large and nothing applied
    many = [{"type": "group.create", "name": f"G{i}"} for i in range(26)]
    error = client.fails({"mutations": many}, 413, "payload_too_large")
    assert paths(error) == ["/mutations"]

    # When 25 are sent, Then all apply
    body = client.ok(*many[:25])
    assert len(body["results"]) == 25
    assert len(body["data"]["groups"]) == 26


@pytest.mark.parametrize(
    ("body", "status", "code", "path"),
    [
        ({}, 400, "unknown_mutation", "/type"),
        ({"name": "x"}, 400, "unknown_mutation", "/type"),
        ({"type": "workspace.explode"}, 400, "unknown_mutation", "/type"),
        ({"type": 7}, 400, "unknown_mutation", "/type"),
        ({"type": "workspace.create", "name": "X", "extra": 1}, 422, "validation_failed", "/extra"),
        ({"type": "workspace.create", "name": "X", "version": 3}, 422, "validation_failed", "/version"),
        ({"mutations": []}, 422, "validation_failed", "/mutations"),
        ({"mutations": {"type": "group.create"}}, 422, "validation_failed", "/mutations"),
        (
            {"mutations": [{"type": "group.create", "name": "G"}], "atomic": True},
            422,
            "validation_failed",
            "/atomic",
        ),
        # Not a JSON object: 400 invalid_json on every route (CONTRACT §11 "Errors")
        ([{"type": "group.create", "name": "G"}], 400, "invalid_json", ""),
        ("group.create", 400, "invalid_json", ""),
        (42, 400, "invalid_json", ""),
        (None, 400, "invalid_json", ""),
    ],
)
def test_malformed_mutation_bodies(client: Client, body: object, status: int, code: str, path: str) -> None:
    # Given the defaults; When the body is not a valid mutation request; Then the contract's error
    error = client.fails(None, status, code, raw_body=json.dumps(body))
    assert path in paths(error)


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "group.create", "name": ',
        "{'type': 'x'}",
        "nul",
        "\x00",
        "[" * 100_000,
    ],
)
def test_malformed_json_is_400_invalid_json(client: Client, raw: str) -> None:
    client.fails(None, 400, "invalid_json", raw_body=raw)


@pytest.mark.parametrize("raw", ["", "   \n "])
def test_an_empty_body_is_400(client: Client, raw: str) -> None:
    client.fails(None, 400, "invalid_json", raw_body=raw)


def test_a_missing_body_is_400(client: Client) -> None:
    client.fails(None, 400, "invalid_json")


def test_a_body_over_256_kb_is_413(client: Client) -> None:
    # Given a valid mutation padded with whitespace to just over 256 KB
    mutation = json.dumps({"type": "profile.update", "company": "Acme"})
    over = mutation + " " * (256 * 1024 - len(mutation) + 1)
    at_limit = mutation + " " * (256 * 1024 - len(mutation))

    # When it is sent, Then 413 before anything is parsed
    client.fails(None, 413, "payload_too_large", raw_body=over)

    # And exactly 256 KB is accepted
    status, _, body = client.post(None, raw_body=at_limit)
    assert status == 200, body


def test_a_base64_body_is_decoded(client: Client) -> None:
    # Given API Gateway passing the body base64-encoded (binary media types)
    import base64

    event = api_event("user-data-post", user_id=client.user_id)
    event["headers"].pop("Idempotency-Key")
    event["body"] = base64.b64encode(b'{"type": "profile.update", "company": "B64"}').decode()
    event["isBase64Encoded"] = True

    # When it is handled, Then the mutation applies
    status, _, body = invoke(client.module, event)
    assert status == 200, body
    assert body["data"]["profile"]["company"] == "B64"


def test_a_wrong_method_is_405_with_allow(client: Client) -> None:
    # Given the user-data route; When it is called with DELETE
    event = api_event("user-data-get", user_id=client.user_id, method="DELETE")
    status, headers, body = invoke(client.module, event)

    # Then 405 method_not_allowed names the allowed methods
    assert status == 405
    assert body["error"]["code"] == "method_not_allowed"
    assert set(headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST", "PUT", "OPTIONS"}


def test_errors_carry_cors_headers_for_the_app_origin(client: Client) -> None:
    status, headers, _ = client.post(None, raw_body="{")
    assert status == 400
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Allow-Credentials"] == "true"


def test_a_preflight_answers_without_a_session(user_data: ModuleType) -> None:
    event = api_event("user-data-options")
    status, headers, _ = invoke(user_data, event)
    assert status == 204
    assert "If-Match" in headers["Access-Control-Allow-Headers"]
    assert "Idempotency-Key" in headers["Access-Control-Allow-Headers"]


# -- not yours = not found -------------------------------------------------------------------------
def test_ids_from_another_users_account_are_404(new_client) -> None:
    # Given two users; Bob has a workspace, KB, agent, connections and a group of his own
    alice, bob = new_client(), new_client()
    alice.data()
    body = bob.ok(
        {"type": "group.create", "id": "grp-bob", "name": "Bob's"},
        {"type": "workspace.create", "id": "ws-bob", "name": "Bob", "groupId": "grp-bob"},
        {"type": "knowledgeBase.create", "id": "kb-bob", "workspaceId": "ws-bob"},
        {
            "type": "agent.create",
            "id": "agent-bob",
            "workspaceId": "ws-bob",
            "knowledgeBaseId": "kb-bob",
            "name": "Bob's agent",
        },
        {"type": "connection.create", "id": "conn-bob", "workspaceId": "ws-bob", "family": "web-chat"},
        {
            "type": "connection.create",
            "id": "conn-bob-s",
            "workspaceId": "ws-bob",
            "family": "social-comments",
            "platform": "facebook",
        },
    )
    bob_before = (body["data"], body["version"])

    # When Alice names each of Bob's ids
    attempts = [
        ({"type": "workspace.update", "workspaceId": "ws-bob", "name": "Mine"}, "/workspaceId"),
        ({"type": "workspace.duplicate", "workspaceId": "ws-bob"}, "/workspaceId"),
        ({"type": "workspace.delete", "workspaceId": "ws-bob"}, "/workspaceId"),
        ({"type": "workspace.reorder", "workspaceIds": ["ws-1", "ws-bob"]}, "/workspaceIds/1"),
        ({"type": "workspace.create", "name": "X", "groupId": "grp-bob"}, "/groupId"),
        ({"type": "group.update", "groupId": "grp-bob", "name": "Mine"}, "/groupId"),
        ({"type": "group.delete", "groupId": "grp-bob"}, "/groupId"),
        ({"type": "workspace.update", "workspaceId": "ws-1", "defaultKbId": "kb-bob"}, "/defaultKbId"),
        (
            {"type": "workspace.update", "workspaceId": "ws-1", "defaultAgentId": "agent-bob"},
            "/defaultAgentId",
        ),
        ({"type": "knowledgeBase.create", "workspaceId": "ws-bob"}, "/workspaceId"),
        ({"type": "knowledgeBase.update", "knowledgeBaseId": "kb-bob", "name": "Mine"}, "/knowledgeBaseId"),
        ({"type": "knowledgeBase.delete", "knowledgeBaseId": "kb-bob"}, "/knowledgeBaseId"),
        (
            {"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "kb-bob", "name": "A"},
            "/knowledgeBaseId",
        ),
        ({"type": "agent.update", "agentId": "agent-bob", "name": "Mine"}, "/agentId"),
        (
            {"type": "agent.update", "agentId": "agent-default-1", "knowledgeBaseId": "kb-bob"},
            "/knowledgeBaseId",
        ),
        ({"type": "agent.delete", "agentId": "agent-bob"}, "/agentId"),
        (
            {
                "type": "connection.create",
                "workspaceId": "ws-1",
                "family": "web-chat",
                "agentId": "agent-bob",
            },
            "/agentId",
        ),
        (
            {
                "type": "connection.create",
                "workspaceId": "ws-1",
                "family": "web-chat",
                "knowledgeBaseId": "kb-bob",
            },
            "/knowledgeBaseId",
        ),
        (
            {
                "type": "connection.create",
                "workspaceId": "ws-1",
                "family": "social-comments",
                "platform": "threads",
                "knowledgeBaseId": "kb-bob",
            },
            "/knowledgeBaseId",
        ),
        ({"type": "connection.update", "connectionId": "conn-bob", "label": "Mine"}, "/connectionId"),
        ({"type": "connection.delete", "connectionId": "conn-bob-s"}, "/connectionId"),
        ({"type": "nodePositions.set", "workspaceId": "ws-bob", "positions": {}}, "/workspaceId"),
    ]
    for mutation, path in attempts:
        # Then each is 404 not_found (never 403), pointing at the foreign id, and Alice's data is unchanged
        error = alice.fails(mutation, 404, "not_found")
        assert paths(error) == [path], mutation

    # And Bob's data is exactly as it was
    assert bob.data() == bob_before


def test_the_same_ids_in_two_accounts_are_independent(new_client) -> None:
    # Given two users with the canonical ids (every user has ws-1)
    alice, bob = new_client(), new_client()
    alice.data()
    _, bob_version = bob.data()

    # When Alice renames her ws-1 and creates "ws-shared"
    alice.ok(
        {"type": "workspace.update", "workspaceId": "ws-1", "name": "Alice's"},
        {"type": "workspace.create", "id": "ws-shared", "name": "Shared id"},
    )

    # Then Bob's ws-1 is untouched and he can use the same proposed id
    data, version = bob.data()
    assert (workspace(data, "ws-1")["name"], version) == ("My Workspace", bob_version)
    assert bob.ok({"type": "workspace.create", "id": "ws-shared", "name": "Mine too"})["results"][0][
        "id"
    ] == ("ws-shared")


def test_a_write_answers_exactly_what_a_later_read_returns(client: Client) -> None:
    # Given the defaults
    client.data()

    # When one batch creates two workspaces (their KBs and agents share a creation time) and then
    # moves the second one first
    body = client.ok(
        {"type": "workspace.create", "id": "ws-a", "name": "A"},
        {"type": "workspace.create", "id": "ws-b", "name": "B"},
        {"type": "connection.create", "workspaceId": "ws-a", "family": "web-chat"},
        {"type": "connection.create", "workspaceId": "ws-b", "family": "web-chat"},
        {"type": "workspace.reorder", "workspaceIds": ["ws-b", "ws-a", "ws-1"]},
    )

    # Then the answer is exactly what the next read returns, order included
    assert client.data() == (body["data"], body["version"])
    assert [k["workspaceId"] for k in body["data"]["knowledgeBases"]] == ["ws-1", "ws-b", "ws-a"]
