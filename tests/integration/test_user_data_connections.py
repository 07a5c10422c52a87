"""Connections through POST /api/user-data: family fields, labels, KB-owned vs agent-managed
assignment and the derived apps and agent status (CONTRACT §1 ChannelConnection, §2.5, §2.7, §2.8,
§3 assignment rule, §9 "Connections", §10 "Labels", "References inside one account")."""

from __future__ import annotations

import pytest

from tests.integration.conftest import COMPLETE_DRAFT, Client, agent, connection, paths, workspace

SMS = {"family": "sms", "phoneNumber": "+14155550123"}
COMPLIANCE = {
    "brandName": "Acme",
    "ein": "12-3456789",
    "campaignUseCase": "customer care",
    "sampleMessage": "Your order shipped",
    "optInDescription": "Checkbox at checkout",
}


def create(conn_id: str | None = None, workspace_id: str = "ws-1", **fields: object) -> dict:
    mutation: dict = {"type": "connection.create", "workspaceId": workspace_id, **fields}
    if conn_id is not None:
        mutation["id"] = conn_id
    return mutation


def social(conn_id: str | None = None, platform: str = "facebook", **fields: object) -> dict:
    return create(conn_id, family="social-comments", platform=platform, **fields)


def chat(conn_id: str | None = None, **fields: object) -> dict:
    return create(conn_id, family="web-chat", **fields)


def labels(data: dict) -> list[str]:
    return [c["label"] for c in data["connections"]]


# -- family fields ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "owner"),
    [
        ({"family": "social-comments", "platform": "linkedin"}, "kb"),
        ({"family": "review-platforms", "platform": "facebook-reviews"}, "kb"),
        ({"family": "review-platforms", "platform": "tripadvisor"}, "kb"),
        ({"family": "facebook-messenger"}, "agent"),
        ({"family": "web-chat", "addedVia": "widget"}, "agent"),
        ({"family": "whatsapp", "phoneNumber": "+447911123456"}, "agent"),
        ({"family": "sms", "phoneNumber": "+14155550123", "compliance": COMPLIANCE}, "agent"),
    ],
)
def test_a_new_connection_of_each_family(client: Client, fields: dict, owner: str) -> None:
    # Given the defaults
    # When a connection of the family is created
    body = client.ok(create(None, **fields))

    # Then it starts active and connected, with the fields given, owned by the KB or by the default agent
    conn_id = body["results"][0]["id"]
    assert conn_id.startswith("conn-")
    created = connection(body["data"], conn_id)
    assert (created["active"], created["state"], created["workspaceId"]) == (True, "connected", "ws-1")
    for name, expected in fields.items():
        assert created[name] == expected
    assert created["label"] == "Profile 1"
    if owner == "kb":
        assert (created["knowledgeBaseId"], created["agentId"]) == ("kb-default-1", None)
        assert "platform" in created
        assert agent(body["data"], "agent-default-1")["connectionIds"] == []
    else:
        assert (created["agentId"], created["knowledgeBaseId"]) == ("agent-default-1", "kb-default-1")
        assert "platform" not in created
        assert agent(body["data"], "agent-default-1")["connectionIds"] == [conn_id]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"family": "social-comments"}, "/platform"),
        ({"family": "social-comments", "platform": "google"}, "/platform"),
        ({"family": "review-platforms", "platform": "instagram"}, "/platform"),
        ({"family": "review-platforms"}, "/platform"),
        ({"family": "web-chat", "platform": "facebook"}, "/platform"),
        ({"family": "whatsapp"}, "/phoneNumber"),
        ({"family": "sms"}, "/phoneNumber"),
        ({"family": "sms", "phoneNumber": "4155550123"}, "/phoneNumber"),
        ({"family": "whatsapp", "phoneNumber": "+0155550123"}, "/phoneNumber"),
        ({"family": "web-chat", "phoneNumber": "+14155550123"}, "/phoneNumber"),
        ({"family": "whatsapp", "phoneNumber": "+14155550123", "compliance": COMPLIANCE}, "/compliance"),
        ({"family": "social-comments", "platform": "facebook", "compliance": {}}, "/compliance"),
        (
            {"family": "sms", "phoneNumber": "+14155550123", "compliance": {"brandName": 5}},
            "/compliance/brandName",
        ),
        ({"family": "sms", "phoneNumber": "+14155550123", "compliance": {"tcr": "x"}}, "/compliance/tcr"),
        ({"family": "telegram"}, "/family"),
        ({"family": "web-chat", "active": False}, "/active"),
        ({"family": "web-chat", "label": "x" * 81}, "/label"),
        ({"family": "web-chat", "label": "  " + "x" * 81 + "  "}, "/label"),
    ],
)
def test_family_field_rules(client: Client, fields: dict, path: str) -> None:
    # Given the defaults; When a connection breaks its family's field rules; Then 422 at that field
    error = client.fails(create(None, **fields), 422, "validation_failed")
    assert path in paths(error)


def test_connection_update_family_field_rules(client: Client) -> None:
    # Given a web chat and an SMS connection
    client.ok(chat("conn-chat"), create("conn-sms", **SMS))

    # When compliance or a phone is put on the web chat, Then 422
    client.fails(
        {"type": "connection.update", "connectionId": "conn-chat", "phoneNumber": "+14155550199"},
        422,
        "validation_failed",
    )
    client.fails(
        {"type": "connection.update", "connectionId": "conn-chat", "compliance": COMPLIANCE},
        422,
        "validation_failed",
    )

    # And on the SMS connection both can change, and compliance can be cleared with null
    data = client.ok(
        {
            "type": "connection.update",
            "connectionId": "conn-sms",
            "phoneNumber": "+14155550199",
            "compliance": COMPLIANCE,
            "state": "degraded",
        }
    )["data"]
    sms = connection(data, "conn-sms")
    assert (sms["phoneNumber"], sms["compliance"], sms["state"]) == ("+14155550199", COMPLIANCE, "degraded")
    data = client.ok({"type": "connection.update", "connectionId": "conn-sms", "compliance": None})["data"]
    assert "compliance" not in connection(data, "conn-sms")


# -- labels ----------------------------------------------------------------------------------------
def test_labels_are_trimmed_and_inner_whitespace_collapsed(client: Client) -> None:
    data = client.ok(chat(label="  Main \t  site\n chat  "))["data"]
    assert labels(data) == ["Main site chat"]


def test_an_empty_label_gets_the_lowest_free_profile_number(client: Client) -> None:
    # Given three unlabelled Facebook comment connections
    data = client.ok(social("conn-1"), social("conn-2", label="   "), social("conn-3", label=""))["data"]
    assert labels(data) == ["Profile 1", "Profile 2", "Profile 3"]

    # When the second is deleted and another unlabelled one is added
    data = client.ok({"type": "connection.delete", "connectionId": "conn-2"}, social("conn-4"))["data"]

    # Then it takes the lowest free number
    assert connection(data, "conn-4")["label"] == "Profile 2"


def test_a_case_insensitive_clash_gets_a_number_suffix(client: Client) -> None:
    data = client.ok(chat(label="Support"), chat(label="support"), chat(label="SUPPORT "))["data"]
    assert labels(data) == ["Support", "support (2)", "SUPPORT (3)"]


def test_a_clash_suffix_shortens_a_label_at_the_limit(client: Client) -> None:
    # Given an 80-char label
    long_label = "a" * 79 + "b"
    client.ok(chat(label=long_label))

    # When the same label is used again; Then the base is shortened so that the suffix fits in 80 chars
    data = client.ok(chat(label=long_label))["data"]
    assert labels(data) == [long_label, "a" * 76 + " (2)"]
    assert all(len(label) <= 80 for label in labels(data))


def test_a_label_that_fits_after_normalization_is_accepted(client: Client) -> None:
    # Given a raw label of 90 chars that collapses to exactly 80
    raw = "   " + "a" * 40 + "           " + "b" * 39 + "   "
    data = client.ok(chat(label=raw))["data"]
    assert labels(data) == ["a" * 40 + " " + "b" * 39]


def test_the_label_scope_is_workspace_family_and_platform(client: Client) -> None:
    # Given a second workspace
    other = client.ok({"type": "workspace.create", "name": "Other"})["results"][0]["id"]

    # When the same label is used in other platforms, families and workspaces
    body = client.ok(
        social(label="Brand", platform="facebook"),
        social(label="Brand", platform="instagram"),
        create(None, family="review-platforms", platform="google", label="Brand"),
        chat(label="Brand"),
        create(None, workspace_id=other, family="social-comments", platform="facebook", label="Brand"),
        social(label="brand", platform="facebook"),
        social(platform="instagram"),
        social(platform="facebook"),
    )

    # Then only the clash inside one workspace+family+platform is suffixed, and Profile N counts per scope
    label_of = {c["id"]: c["label"] for c in body["data"]["connections"]}
    assert [label_of[r["id"]] for r in body["results"]] == [
        "Brand",
        "Brand",
        "Brand",
        "Brand",
        "Brand",
        "brand (2)",
        "Profile 1",
        "Profile 1",
    ]


def test_relabelling_a_connection_does_not_clash_with_itself(client: Client) -> None:
    # Given "Support" and "Sales"
    client.ok(chat("conn-a", label="Support"), chat("conn-b", label="Sales"))

    # When "Support" is relabelled "support" (itself), and "Sales" is relabelled "Support"
    data = client.ok(
        {"type": "connection.update", "connectionId": "conn-a", "label": "support"},
        {"type": "connection.update", "connectionId": "conn-b", "label": " Support "},
    )["data"]

    # Then the first keeps its new casing and the second gets a suffix
    assert (connection(data, "conn-a")["label"], connection(data, "conn-b")["label"]) == (
        "support",
        "Support (2)",
    )

    # And a relabel over 80 chars is refused
    client.fails(
        {"type": "connection.update", "connectionId": "conn-a", "label": "z" * 81}, 422, "validation_failed"
    )


# -- KB-owned connections --------------------------------------------------------------------------
def test_kb_owned_connections_go_to_the_named_kb_and_refuse_an_agent(client: Client) -> None:
    # Given a second KB in ws-1
    client.ok({"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"})

    # When a social connection names it, Then it is owned by it
    data = client.ok(social("conn-s", knowledgeBaseId="kb-two"))["data"]
    assert (connection(data, "conn-s")["knowledgeBaseId"], connection(data, "conn-s")["agentId"]) == (
        "kb-two",
        None,
    )

    # And it can move to another KB of the workspace
    data = client.ok(
        {"type": "connection.update", "connectionId": "conn-s", "knowledgeBaseId": "kb-default-1"}
    )["data"]
    assert connection(data, "conn-s")["knowledgeBaseId"] == "kb-default-1"

    # And naming an agent on a KB-owned connection is a 409
    error = client.fails(social(agentId="agent-default-1"), 409, "invariant_violation")
    assert paths(error) == ["/agentId"]
    error = client.fails(
        {"type": "connection.update", "connectionId": "conn-s", "agentId": "agent-default-1"},
        409,
        "invariant_violation",
    )
    assert paths(error) == ["/agentId"]


# -- agent-managed assignment ----------------------------------------------------------------------
def test_the_fifth_connection_goes_to_a_new_my_agent_2_on_the_default_kb(client: Client) -> None:
    # Given the default agent holding 4 connections
    data = client.ok(*[chat(f"conn-{i}") for i in range(4)])["data"]
    assert agent(data, "agent-default-1")["connectionIds"] == [f"conn-{i}" for i in range(4)]

    # When a 5th agent-family connection is added
    data = client.ok(create("conn-4", family="whatsapp", phoneNumber="+14155550100"))["data"]

    # Then a new agent "My Agent 2" on the default agent's KB takes it
    [new] = [a for a in data["agents"] if a["id"] != "agent-default-1"]
    assert (new["name"], new["knowledgeBaseId"], new["workspaceId"]) == ("My Agent 2", "kb-default-1", "ws-1")
    assert new["connectionIds"] == ["conn-4"]
    assert connection(data, "conn-4")["agentId"] == new["id"]

    # And the 9th makes "My Agent 3"
    data = client.ok(*[chat(f"conn-{i}") for i in range(5, 9)])["data"]
    assert sorted(a["name"] for a in data["agents"]) == ["My Agent", "My Agent 2", "My Agent 3"]
    assert all(len(a["connectionIds"]) <= 4 for a in data["agents"])


def test_the_fifth_connection_prefers_an_existing_agent_of_the_default_kb_with_room(client: Client) -> None:
    # Given a second KB with an agent (not eligible), then an agent "Helper" on the default KB
    client.ok(
        {"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"},
        {
            "type": "agent.create",
            "id": "agent-other-kb",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-two",
            "name": "Other KB",
        },
        {
            "type": "agent.create",
            "id": "agent-helper",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "Helper",
        },
        *[chat(f"conn-{i}") for i in range(4)],
    )

    # When a 5th connection is added
    data = client.ok(chat("conn-4"))["data"]

    # Then Helper takes it, no agent is created
    assert connection(data, "conn-4")["agentId"] == "agent-helper"
    assert len(data["agents"]) == 3


def test_changing_the_default_agent_changes_only_future_assignments(client: Client) -> None:
    # Given a connection on the default agent and a second agent
    client.ok(
        chat("conn-old"),
        {
            "type": "agent.create",
            "id": "agent-new",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "New",
        },
    )

    # When the second agent becomes the default and a connection is added
    data = client.ok(
        {"type": "workspace.update", "workspaceId": "ws-1", "defaultAgentId": "agent-new"}, chat("conn-next")
    )["data"]

    # Then the old connection stayed and the new one went to the new default
    assert connection(data, "conn-old")["agentId"] == "agent-default-1"
    assert connection(data, "conn-next")["agentId"] == "agent-new"


def test_naming_only_a_kb_restricts_the_assignment_to_that_kb(client: Client) -> None:
    # Given a second KB with no agent yet
    client.ok({"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"})

    # When an agent-family connection names that KB but no agent
    data = client.ok(chat("conn-a", knowledgeBaseId="kb-two"))["data"]

    # Then a new agent on that KB takes it (the default agent serves another KB)
    holder = agent(data, connection(data, "conn-a")["agentId"])
    assert (holder["knowledgeBaseId"], holder["name"]) == ("kb-two", "My Agent 2")
    assert connection(data, "conn-a")["knowledgeBaseId"] == "kb-two"

    # And the next one restricted to that KB reuses that agent
    data = client.ok(chat("conn-b", knowledgeBaseId="kb-two"))["data"]
    assert connection(data, "conn-b")["agentId"] == holder["id"]

    # And naming the default KB uses the default agent
    data = client.ok(chat("conn-c", knowledgeBaseId="kb-default-1"))["data"]
    assert connection(data, "conn-c")["agentId"] == "agent-default-1"


def test_connection_update_to_a_kb_reassigns_within_that_kb(client: Client) -> None:
    # Given a connection on the default agent and a second KB with an agent
    client.ok(
        chat("conn-a"),
        {"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"},
        {
            "type": "agent.create",
            "id": "agent-two",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-two",
            "name": "Two",
        },
    )

    # When the connection is pointed at the second KB
    data = client.ok({"type": "connection.update", "connectionId": "conn-a", "knowledgeBaseId": "kb-two"})[
        "data"
    ]

    # Then that KB's agent takes it
    assert (connection(data, "conn-a")["agentId"], connection(data, "conn-a")["knowledgeBaseId"]) == (
        "agent-two",
        "kb-two",
    )
    assert agent(data, "agent-default-1")["connectionIds"] == []

    # And naming an agent moves it there
    data = client.ok({"type": "connection.update", "connectionId": "conn-a", "agentId": "agent-default-1"})[
        "data"
    ]
    assert connection(data, "conn-a")["agentId"] == "agent-default-1"


def test_a_full_agent_refuses_a_named_connection(client: Client) -> None:
    # Given the default agent holding 4 connections and a 5th connection elsewhere
    client.ok(*[chat(f"conn-{i}") for i in range(5)])

    # When a new connection (or the 5th) names the full agent
    error = client.fails(chat(agentId="agent-default-1"), 409, "invariant_violation")
    assert [d["code"] for d in error["details"]] == ["agent_full"]
    error = client.fails(
        {"type": "connection.update", "connectionId": "conn-4", "agentId": "agent-default-1"},
        409,
        "invariant_violation",
    )
    assert paths(error) == ["/agentId"]

    # And re-naming its own agent for a connection it already holds is fine
    client.ok({"type": "connection.update", "connectionId": "conn-0", "agentId": "agent-default-1"})


@pytest.mark.parametrize(
    ("mutation", "status", "code", "path"),
    [
        (chat(agentId="OTHER_AGENT"), 409, "invariant_violation", "/agentId"),
        (chat(knowledgeBaseId="OTHER_KB"), 409, "invariant_violation", "/knowledgeBaseId"),
        (chat(agentId="agent-nope"), 404, "not_found", "/agentId"),
        (chat(knowledgeBaseId="kb-nope"), 404, "not_found", "/knowledgeBaseId"),
        (chat(workspace_id="ws-nope"), 404, "not_found", "/workspaceId"),
        (
            chat(agentId="agent-default-1", knowledgeBaseId="kb-two"),
            409,
            "invariant_violation",
            "/knowledgeBaseId",
        ),
        (
            {"type": "connection.update", "connectionId": "conn-nope", "label": "x"},
            404,
            "not_found",
            "/connectionId",
        ),
        ({"type": "connection.delete", "connectionId": "conn-nope"}, 404, "not_found", "/connectionId"),
        (
            {"type": "connection.update", "connectionId": "conn-a", "agentId": "OTHER_AGENT"},
            409,
            "invariant_violation",
            "/agentId",
        ),
        (
            {"type": "connection.update", "connectionId": "conn-a", "state": "broken"},
            422,
            "validation_failed",
            "/state",
        ),
        (
            {"type": "connection.update", "connectionId": "conn-a", "family": "sms"},
            422,
            "validation_failed",
            "/family",
        ),
        (
            {"type": "connection.update", "connectionId": "conn-a", "active": None},
            422,
            "validation_failed",
            "/active",
        ),
        (chat("conn-a"), 409, "id_taken", "/id"),
    ],
)
def test_connection_reference_refusals(
    client: Client, mutation: dict, status: int, code: str, path: str
) -> None:
    # Given a connection conn-a, a second KB in ws-1 and another workspace
    other = client.ok(
        chat("conn-a"),
        {"type": "knowledgeBase.create", "id": "kb-two", "workspaceId": "ws-1"},
        {"type": "workspace.create", "name": "Other"},
    )["results"][2]
    swap = {"OTHER_AGENT": other["agentId"], "OTHER_KB": other["knowledgeBaseId"]}
    mutation = {k: swap.get(v, v) if isinstance(v, str) else v for k, v in mutation.items()}

    # When a connection mutation names something outside the workspace or unknown; Then refused at the field
    error = client.fails(mutation, status, code)
    assert path in paths(error)


# -- derived apps and status -----------------------------------------------------------------------
def test_connected_apps_are_derived_from_the_families(client: Client) -> None:
    # Given the defaults (no app)
    # When a review connection is added, Then the workspace has Comment Responder
    data = client.ok(create("conn-r", family="review-platforms", platform="google"))["data"]
    assert (workspace(data, "ws-1")["connectedApps"], workspace(data, "ws-1")["appsActivated"]) == (
        ["Comment Responder"],
        True,
    )

    # When an agent-family connection is added (even inactive), Then Chatti Live too
    data = client.ok(
        chat("conn-c"), {"type": "connection.update", "connectionId": "conn-c", "active": False}
    )["data"]
    assert workspace(data, "ws-1")["connectedApps"] == ["Comment Responder", "Chatti Live"]

    # When the review connection goes, Then only Chatti Live is left
    data = client.ok({"type": "connection.delete", "connectionId": "conn-r"})["data"]
    assert workspace(data, "ws-1")["connectedApps"] == ["Chatti Live"]

    # When the last connection goes, Then no app and not activated
    data = client.ok({"type": "connection.delete", "connectionId": "conn-c"})["data"]
    assert (workspace(data, "ws-1")["connectedApps"], workspace(data, "ws-1")["appsActivated"]) == ([], False)


def test_agent_status_is_active_with_a_complete_kb_and_an_active_connection(client: Client) -> None:
    # Given an agent with an active connection on an incomplete KB
    data = client.ok(chat("conn-a"))["data"]
    assert agent(data, "agent-default-1")["status"] == "draft"

    # When the KB is completed
    data = client.ok(
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT}
    )["data"]

    # Then the agent is active
    assert agent(data, "agent-default-1")["status"] == "active"

    # And a degraded (but active) connection still counts
    data = client.ok({"type": "connection.update", "connectionId": "conn-a", "state": "degraded"})["data"]
    assert agent(data, "agent-default-1")["status"] == "active"

    # And deleting the connection makes it inactive
    data = client.ok({"type": "connection.delete", "connectionId": "conn-a"})["data"]
    assert (agent(data, "agent-default-1")["status"], agent(data, "agent-default-1")["connectionIds"]) == (
        "inactive",
        [],
    )


def test_a_client_cannot_set_derived_connection_fields(client: Client) -> None:
    error = client.fails(chat(connectedApps=["Chatti Live"]), 422, "validation_failed")
    assert paths(error) == ["/connectedApps"]
