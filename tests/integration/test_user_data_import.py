"""PUT /api/user-data: the one-time local-to-server import (CONTRACT §3 backfill, §4, §9 "Untouched
defaults", §10 "Import normalization"). The legacy document is the one in events/user-data-put.json."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from local.events import body_text
from tests.conftest import EVENTS
from tests.integration.conftest import (
    COMPLETE_DRAFT,
    Client,
    agent,
    connection,
    kb,
    paths,
    store_legacy_account,
    workspace,
)

LEGACY: dict[str, Any] = json.loads(body_text(json.loads((EVENTS / "user-data-put.json").read_text())) or "")


def legacy() -> dict[str, Any]:
    return copy.deepcopy(LEGACY)


def minimal(workspace_id: str = "ws-imported") -> dict[str, Any]:
    return {"data": {"workspaces": [{"id": workspace_id, "name": "Imported"}]}}


def put_fails(client: Client, document: Any, status: int, code: str, **kwargs: Any) -> dict[str, Any]:
    before = client.data()
    got, _, body = client.put(document, **kwargs)
    assert (got, body["error"]["code"]) == (status, code), body
    assert client.data() == before
    return body["error"]  # type: ignore[no-any-return]


# -- when an import is allowed ---------------------------------------------------------------------
def test_a_fresh_user_can_import_without_reading_first(client: Client) -> None:
    # Given a user who just signed up (no data, no read)
    # When the app imports its local data
    status, headers, body = client.put(legacy())

    # Then it is stored as version 1, and a read returns exactly what the import answered
    assert status == 200, body
    assert set(body) == {"data", "version"}
    assert (body["version"], headers["ETag"]) == (1, '"1"')
    assert client.data() == (body["data"], 1)


def test_an_import_is_allowed_after_reads_only(client: Client) -> None:
    # Given a user who read their defaults twice (the first read wrote them: a hydration write)
    client.data()
    client.data()

    # When the app imports; Then it is accepted and replaces the defaults
    status, _, body = client.put(minimal())
    assert status == 200, body
    assert body["version"] == 2
    assert [w["id"] for w in body["data"]["workspaces"]] == ["ws-imported"]


def test_an_import_is_allowed_after_a_backfill_read(client: Client) -> None:
    # Given an account stored before agents, backfilled by a read (a hydration write, version bumped)
    store_legacy_account(client.user_id)
    _, version = client.data()

    # When the app imports; Then hydration writes did not end the untouched state
    status, _, body = client.put(minimal())
    assert status == 200, body
    assert body["version"] == version + 1


def test_an_import_is_allowed_after_only_refused_mutations(client: Client) -> None:
    # Given a user whose only mutation was refused
    client.fails({"type": "workspace.delete", "workspaceId": "ws-1"}, 409, "invariant_violation")

    # When the app imports; Then the data was still untouched, so it is accepted
    status, _, body = client.put(minimal())
    assert status == 200, body


def test_an_import_is_refused_after_any_accepted_mutation(client: Client) -> None:
    # Given a user who changed something
    client.ok({"type": "profile.update", "company": "Acme"})

    # When the app imports without If-Match; Then 409 import_refused and nothing changes
    put_fails(client, legacy(), 409, "import_refused")
    # (If-Match "*" does not pin a version either)
    put_fails(client, legacy(), 409, "import_refused", headers={"If-Match": "*"})


def test_an_import_ends_the_untouched_state(client: Client) -> None:
    # Given a user whose first import was accepted
    assert client.put(minimal("ws-a"))[0] == 200

    # When another import arrives without If-Match; Then it is refused
    put_fails(client, minimal("ws-b"), 409, "import_refused")


def test_an_import_with_a_matching_if_match_replaces_changed_data(client: Client) -> None:
    # Given a user who changed their data (version 2)
    client.data()
    client.ok({"type": "workspace.create", "name": "Made here"})
    _, version = client.data()

    # When the app imports with If-Match set to the current version
    status, headers, body = client.put(minimal(), headers={"If-Match": f'"{version}"'})

    # Then the document replaces the data, and the old workspaces are gone from the store too
    assert status == 200, body
    assert (body["version"], headers["ETag"]) == (version + 1, f'"{version + 1}"')
    data, _ = client.data()
    assert [w["id"] for w in data["workspaces"]] == ["ws-imported"]
    assert {k["workspaceId"] for k in data["knowledgeBases"]} == {"ws-imported"}
    assert {a["workspaceId"] for a in data["agents"]} == {"ws-imported"}


def test_an_import_with_a_stale_if_match_is_412(client: Client) -> None:
    client.data()
    client.ok({"type": "group.create", "name": "G"})
    put_fails(client, minimal(), 412, "version_mismatch", headers={"If-Match": '"1"'})


# -- normalization ---------------------------------------------------------------------------------
def test_a_legacy_document_is_backfilled(client: Client) -> None:
    # Given a legacy document: no schemaVersion, no agents, two KBs in ws-1, seven agent-family
    # connections linked to KBs (five to the default KB, two to the second), one social connection
    document = legacy()
    data_in = document["data"]
    del data_in["schemaVersion"]
    data_in["knowledgeBases"].append(
        {
            "id": "kb-sales",
            "workspaceId": "ws-1",
            "name": "Sales",
            "draft": COMPLETE_DRAFT,
            "isDefaultKb": False,
        }
    )
    families = ["whatsapp", "web-chat", "facebook-messenger", "sms", "web-chat"]
    data_in["connections"] += [
        {
            "id": f"conn-d{i}",
            "workspaceId": "ws-1",
            "family": family,
            "label": f"D{i}",
            "knowledgeBaseId": "kb-default-1",
            **({"phoneNumber": "+14155550101"} if family in ("sms", "whatsapp") else {}),
        }
        for i, family in enumerate(families[1:], start=1)
    ]
    data_in["connections"] += [
        {"id": f"conn-s{i}", "workspaceId": "ws-1", "family": "web-chat", "knowledgeBaseId": "kb-sales"}
        for i in range(2)
    ]
    data_in["connections"].append(
        {
            "id": "conn-fb",
            "workspaceId": "ws-1",
            "family": "social-comments",
            "platform": "facebook",
            "knowledgeBaseId": "kb-sales",
        }
    )

    # When it is imported
    status, _, body = client.put(document)

    # Then it is upgraded to the current schema and every KB has an agent of its workspace
    assert status == 200, body
    data = body["data"]
    assert data["schemaVersion"] == 2
    assert {k["id"]: k["agentsSetCount"] >= 1 for k in data["knowledgeBases"]} == {
        "kb-default-1": True,
        "kb-sales": True,
    }
    agents = {a["id"]: a for a in data["agents"]}
    assert all(a["workspaceId"] == "ws-1" for a in agents.values())
    # every agent-family connection sits on an agent of the KB it was linked to, at most 4 per agent
    linked = {c["id"]: c.get("knowledgeBaseId") for c in data_in["connections"]}
    for conn in data["connections"]:
        if conn["family"] == "social-comments":
            assert (conn["agentId"], conn["knowledgeBaseId"]) == (None, "kb-sales")
            continue
        assert agents[conn["agentId"]]["knowledgeBaseId"] == linked[conn["id"]]
        assert conn["knowledgeBaseId"] == linked[conn["id"]]
    assert all(len(a["connectionIds"]) <= 4 for a in agents.values())
    on_default = [a for a in agents.values() if a["knowledgeBaseId"] == "kb-default-1"]
    assert sorted(len(a["connectionIds"]) for a in on_default) == [1, 4]
    # the canonical default agent exists and new agents are named "My Agent N"
    assert workspace(data, "ws-1")["defaultAgentId"] == "agent-default-1"
    assert agents["agent-default-1"]["knowledgeBaseId"] == "kb-default-1"
    assert sorted(a["name"] for a in agents.values()) == ["My Agent", "My Agent 2", "My Agent 3"]
    # statuses are derived: default KB incomplete -> draft; Sales complete with active connections -> active
    assert {a["status"] for a in on_default} == {"draft"}
    assert {a["status"] for a in agents.values() if a["knowledgeBaseId"] == "kb-sales"} == {"active"}
    assert workspace(data, "ws-1")["connectedApps"] == ["Comment Responder", "Chatti Live"]


def test_unknown_legacy_fields_and_derived_fields_are_dropped(client: Client) -> None:
    # Given a legacy document with UI-only props and wrong derived values
    document = legacy()
    ws = document["data"]["workspaces"][0]
    ws.update(
        {
            "groupName": "Default group",
            "numberOfKnowledgeBases": 7,
            "connectedApps": ["Nonsense"],
            "appsActivated": False,
            "ownerId": "u-someone-else",
            "numberOfUsers": 99,
        }
    )
    document["data"]["knowledgeBases"][0].update(
        {"status": "complete", "agentsSetCount": 5, "isDefaultKb": True}
    )
    document["data"]["groups"][0]["color"] = "blue"
    document["data"]["uiTheme"] = "dark"

    # When it is imported
    status, _, body = client.put(document)

    # Then the unknown fields are gone and the derived ones are recomputed
    assert status == 200, body
    data = body["data"]
    imported = workspace(data, "ws-1")
    assert "groupName" not in imported
    assert imported["numberOfKnowledgeBases"] == 1
    assert imported["connectedApps"] == ["Chatti Live"]
    assert imported["appsActivated"] is True
    assert imported["ownerId"] == client.user_id
    imported_kb = kb(data, "kb-default-1")
    assert "isDefaultKb" not in imported_kb
    assert (imported_kb["status"], imported_kb["agentsSetCount"]) == ("incomplete", 1)
    assert data["groups"] == [{"id": "default", "name": "Default group"}]
    assert "uiTheme" not in data


def test_the_profile_in_the_document_is_ignored(client: Client) -> None:
    # Given the user's profile from sign-up
    profile, _ = client.data()

    # When a document carrying another profile is imported
    document = legacy()
    document["data"]["profile"] = {"userId": "u-evil", "email": "evil@example.com", "firstName": "Eve"}
    status, _, body = client.put(document)

    # Then the stored profile is still the user's own
    assert status == 200, body
    assert body["data"]["profile"] == profile["profile"]


def test_an_import_keeps_the_clients_ids_and_its_valid_agent_assignments(client: Client) -> None:
    # Given a current-schema document with agents and explicit assignments
    document = {
        "data": {
            "schemaVersion": 2,
            "groups": [{"id": "default", "name": "Default group"}, {"id": "grp-7", "name": "Clients"}],
            "workspaces": [
                {
                    "id": "ws-a",
                    "name": "A",
                    "groupId": "grp-7",
                    "defaultKbId": "kb-a",
                    "defaultAgentId": "agent-a2",
                    "createdAt": "2025-03-01T10:00:00Z",
                },
            ],
            "knowledgeBases": [
                {"id": "kb-a", "workspaceId": "ws-a", "name": "KB A", "draft": COMPLETE_DRAFT}
            ],
            "agents": [
                {
                    "id": "agent-a1",
                    "workspaceId": "ws-a",
                    "knowledgeBaseId": "kb-a",
                    "name": "One",
                    "paused": True,
                },
                {"id": "agent-a2", "workspaceId": "ws-a", "knowledgeBaseId": "kb-a", "name": "Two"},
            ],
            "connections": [
                {
                    "id": "conn-1",
                    "workspaceId": "ws-a",
                    "family": "web-chat",
                    "agentId": "agent-a1",
                    "label": "x",
                },
                {"id": "conn-2", "workspaceId": "ws-a", "family": "web-chat", "label": "X"},
            ],
            "nodePositions": {"ws-a": {"kb-a": {"x": 5, "y": 6}}},
        }
    }

    # When it is imported
    status, _, body = client.put(document)

    # Then ids, groups, order, pauses and assignments are kept; the unassigned one follows the rule
    assert status == 200, body
    data = body["data"]
    assert [g["id"] for g in data["groups"]] == ["default", "grp-7"]
    assert workspace(data, "ws-a")["groupId"] == "grp-7"
    assert workspace(data, "ws-a")["createdAt"] == "2025-03-01T10:00:00.000Z"
    assert workspace(data, "ws-a")["defaultAgentId"] == "agent-a2"
    assert kb(data, "kb-a")["groupId"] == "grp-7"
    assert connection(data, "conn-1")["agentId"] == "agent-a1"
    assert connection(data, "conn-2")["agentId"] in {"agent-a1", "agent-a2"}
    assert [c["label"] for c in data["connections"]] == ["x", "X (2)"]
    assert (agent(data, "agent-a1")["paused"], agent(data, "agent-a1")["status"]) == (True, "inactive")
    assert data["nodePositions"] == {"ws-a": {"kb-a": {"x": 5.0, "y": 6.0}}}


def test_a_workspace_without_kb_or_agent_is_repaired(client: Client) -> None:
    # Given a document whose second workspace has neither a KB nor an agent
    document = legacy()
    document["data"]["workspaces"].append({"id": "ws-bare", "name": "Bare"})

    # When it is imported
    status, _, body = client.put(document)

    # Then that workspace gets a blank KB and a default agent bound to it
    assert status == 200, body
    data = body["data"]
    bare = workspace(data, "ws-bare")
    repaired_kb, repaired_agent = kb(data, bare["defaultKbId"]), agent(data, bare["defaultAgentId"])
    assert (repaired_kb["workspaceId"], repaired_kb["name"], repaired_kb["status"]) == (
        "ws-bare",
        "My Knowledge Base",
        "incomplete",
    )
    assert (repaired_agent["workspaceId"], repaired_agent["knowledgeBaseId"], repaired_agent["name"]) == (
        "ws-bare",
        bare["defaultKbId"],
        "My Agent",
    )
    assert bare["groupId"] == "default"
    assert bare["numberOfKnowledgeBases"] == 1


def test_a_kb_owned_connection_without_a_kb_goes_to_the_default_kb(client: Client) -> None:
    document = legacy()
    document["data"]["connections"].append(
        {"id": "conn-rev", "workspaceId": "ws-1", "family": "review-platforms", "platform": "google"}
    )
    status, _, body = client.put(document)
    assert status == 200, body
    assert connection(body["data"], "conn-rev")["knowledgeBaseId"] == "kb-default-1"


# -- refusals --------------------------------------------------------------------------------------
def _with(change: Any) -> dict[str, Any]:
    document = legacy()
    change(document["data"])
    return document


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["knowledgeBases"][0].update(workspaceId="ws-nowhere"),
            "/data/knowledgeBases/0/workspaceId",
        ),
        (
            lambda d: d.update(agents=[{"id": "agent-x", "knowledgeBaseId": "kb-nowhere"}]),
            "/data/agents/0/knowledgeBaseId",
        ),
        (
            lambda d: d.update(
                agents=[{"id": "agent-x", "workspaceId": "ws-2", "knowledgeBaseId": "kb-default-1"}]
            ),
            "/data/agents/0/workspaceId",
        ),
        (lambda d: d["connections"][0].update(workspaceId="ws-nowhere"), "/data/connections/0/workspaceId"),
        (
            lambda d: d["connections"][0].update(knowledgeBaseId="kb-nowhere"),
            "/data/connections/0/knowledgeBaseId",
        ),
        (lambda d: d["connections"][0].update(agentId="agent-nowhere"), "/data/connections/0/agentId"),
        (
            lambda d: d.update(nodePositions={"ws-nowhere": {"n": {"x": 1, "y": 1}}}),
            "/data/nodePositions/ws-nowhere",
        ),
    ],
)
def test_dangling_references_are_422_with_a_pointer(client: Client, change: Any, path: str) -> None:
    # Given a document with a reference to something it does not hold
    # When it is imported; Then 422 pointing at the reference, nothing stored
    error = put_fails(client, _with(change), 422, "validation_failed")
    assert paths(error) == [path]


def test_a_reference_across_workspaces_is_refused(client: Client) -> None:
    # Given a document whose ws-2 connection names ws-1's KB
    def change(d: dict[str, Any]) -> None:
        d["workspaces"].append({"id": "ws-2", "name": "Two"})
        d["connections"].append(
            {
                "id": "conn-x",
                "workspaceId": "ws-2",
                "family": "social-comments",
                "platform": "threads",
                "knowledgeBaseId": "kb-default-1",
            }
        )

    error = put_fails(client, _with(change), 422, "validation_failed")
    assert paths(error) == ["/data/connections/1/knowledgeBaseId"]


def test_duplicate_ids_are_422(client: Client) -> None:
    # Given a document whose KB reuses the workspace's id
    def change(d: dict[str, Any]) -> None:
        d["knowledgeBases"].append({"id": "ws-1", "workspaceId": "ws-1", "name": "Clash"})

    # When it is imported; Then 422 listing both places
    error = put_fails(client, _with(change), 422, "validation_failed")
    assert sorted(paths(error)) == ["/data/knowledgeBases/1/id", "/data/workspaces/0/id"]
    assert {d["code"] for d in error["details"]} == {"duplicate_id"}


@pytest.mark.parametrize(
    ("document", "status", "code", "path"),
    [
        ({}, 422, "validation_failed", "/data"),
        ({"data": legacy()["data"], "force": True}, 422, "validation_failed", "/force"),
        ({"data": {"workspaces": []}}, 422, "validation_failed", "/data/workspaces"),
        (
            {"data": {"workspaces": [{"id": "ws 1", "name": "x"}]}},
            422,
            "validation_failed",
            "/data/workspaces/0/id",
        ),
        (
            {"data": {"workspaces": [{"id": "ws-1", "name": ""}]}},
            422,
            "validation_failed",
            "/data/workspaces/0/name",
        ),
        (
            _with(lambda d: d["connections"][0].update(family="fax")),
            422,
            "validation_failed",
            "/data/connections/0/family",
        ),
        (
            _with(lambda d: d["connections"][0].pop("phoneNumber")),
            422,
            "validation_failed",
            "/data/connections/0/phoneNumber",
        ),
        (
            _with(lambda d: d["connections"][0].update(label="y" * 81)),
            422,
            "validation_failed",
            "/data/connections/0/label",
        ),
        (_with(lambda d: d.update(schemaVersion=0)), 422, "validation_failed", "/data/schemaVersion"),
    ],
)
def test_invalid_documents(client: Client, document: Any, status: int, code: str, path: str) -> None:
    error = put_fails(client, document, status, code)
    assert path in paths(error)


def test_an_agent_over_capacity_in_a_current_document_is_422(client: Client) -> None:
    # Given a schemaVersion 2 document whose agent holds 5 connections
    def change(d: dict[str, Any]) -> None:
        d["schemaVersion"] = 2
        d["agents"] = [{"id": "agent-default-1", "knowledgeBaseId": "kb-default-1", "name": "My Agent"}]
        d["connections"] = [
            {"id": f"conn-{i}", "workspaceId": "ws-1", "family": "web-chat", "agentId": "agent-default-1"}
            for i in range(5)
        ]

    error = put_fails(client, _with(change), 422, "validation_failed")
    assert paths(error) == ["/data/connections/4/agentId"]


def test_malformed_import_bodies(client: Client) -> None:
    put_fails(client, None, 400, "invalid_json", raw_body='{"data": ')
    put_fails(client, None, 400, "invalid_json", raw_body="")


def test_an_import_may_exceed_256_kb_but_not_6_mb(client: Client) -> None:
    # Given a document padded to 300 KB (over the mutation limit, under the import limit)
    text = json.dumps(minimal())
    status, _, body = client.put(None, raw_body=text + " " * (300 * 1024))

    # Then it is accepted
    assert status == 200, body

    # And a body over 6 MB is 413
    error = put_fails(
        client,
        None,
        413,
        "payload_too_large",
        raw_body=text + " " * (6 * 1024 * 1024),
        headers={"If-Match": f'"{body["version"]}"'},
    )
    assert "bytes" in error["message"]


def test_an_import_answers_in_creation_order_exactly_as_a_later_read(client: Client) -> None:
    # Given a document listing KBs, agents and connections out of creation order, with no defaults named
    document = {
        "data": {
            "workspaces": [{"id": "ws-1", "name": "W"}, {"id": "ws-2", "name": "V"}],
            "knowledgeBases": [
                {"id": "kb-late", "workspaceId": "ws-1", "name": "Late", "createdAt": "2025-02-01T00:00:00Z"},
                {
                    "id": "kb-early",
                    "workspaceId": "ws-1",
                    "name": "Early",
                    "createdAt": "2025-01-01T00:00:00Z",
                },
                {"id": "kb-v", "workspaceId": "ws-2", "name": "V"},
            ],
            "agents": [
                {
                    "id": "agent-late",
                    "knowledgeBaseId": "kb-early",
                    "name": "L",
                    "createdAt": "2025-02-01T00:00:00Z",
                },
                {
                    "id": "agent-early",
                    "knowledgeBaseId": "kb-late",
                    "name": "E",
                    "createdAt": "2025-01-01T00:00:00Z",
                },
            ],
            "connections": [
                {"id": "conn-v", "workspaceId": "ws-2", "family": "web-chat"},
                {
                    "id": "conn-late",
                    "workspaceId": "ws-1",
                    "family": "web-chat",
                    "createdAt": "2025-03-01T00:00:00Z",
                },
                {
                    "id": "conn-early",
                    "workspaceId": "ws-1",
                    "family": "web-chat",
                    "createdAt": "2025-01-02T00:00:00Z",
                },
            ],
        }
    }

    # When it is imported
    status, _, body = client.put(document)

    # Then the answer lists everything in creation order (ties in workspace order), as a read does
    assert status == 200, body
    data = body["data"]
    assert [k["id"] for k in data["knowledgeBases"]] == ["kb-early", "kb-late", "kb-v"]
    assert [a["id"] for a in data["agents"] if a["workspaceId"] == "ws-1"] == ["agent-early", "agent-late"]
    assert [c["id"] for c in data["connections"]] == ["conn-early", "conn-late", "conn-v"]
    # and the defaults it had to choose are the oldest KB and agent of the workspace
    assert (workspace(data, "ws-1")["defaultKbId"], workspace(data, "ws-1")["defaultAgentId"]) == (
        "kb-early",
        "agent-early",
    )
    assert client.data() == (data, body["version"])


# -- the 100 items of one transaction (docs/api/user-data.md, "PUT: import") ------------------------
def _workspaces(count: int, first: str = "ws-imp") -> dict[str, Any]:
    return {"data": {"workspaces": [{"id": f"{first}-{i}", "name": f"W{i}"} for i in range(count)]}}


@pytest.mark.parametrize(
    ("read_first", "count", "key", "status"),
    [
        (False, 99, None, 200),  # 99 workspaces + the account = 100 items
        (False, 99, "k-99", 413),  # + the Idempotency-Key record = 101
        (False, 98, "k-98", 200),
        (True, 98, None, 200),  # the defaults were stored: deleting ws-1 is one more item
        (True, 99, None, 413),
        (True, 97, "k-97", 200),
    ],
)
def test_an_import_fits_one_transaction_of_100_items(
    new_client: Any, read_first: bool, count: int, key: str | None, status: int
) -> None:
    # Given a new user (who read the defaults, or not)
    client = new_client()
    if read_first:
        client.data()
    # When the app imports `count` workspaces (with an Idempotency-Key or not)
    got, _, body = client.put(_workspaces(count), idempotency_key=key)
    # Then the account, each workspace, each deleted workspace and the key's record count as items
    assert got == status, body
    if status == 413:
        assert body["error"]["code"] == "payload_too_large"
