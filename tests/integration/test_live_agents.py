"""/api/live-agents through the real handler on moto, against a fake live-agents service on
127.0.0.1 (CONTRACT §4 `/api/live-agents`, §5, §9 "Versions", §10 "Reads"; docs/api/live-agents.md):
store mode, sync on every route, every fallback trigger and the recovery after it, rejection,
normalization on the wire, imports, deletions, edits made through /api/user-data, versions,
If-Match, Idempotency-Key and bad input."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import load_function
from tests.integration.conftest import COMPLETE_DRAFT, Client, create_user
from tests.integration.live_agents_support import (
    API_KEY,
    LiveClient,
    UpstreamServer,
    by_id,
    refused_url,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

KEY_PARAM = "/ciq/test/live-agents-key"
TIMEOUT_MS = 400  # the budget of the tests about time (the slow service answers after SLOW_SECONDS)
SLOW_SECONDS = 8.0
# Store reads/writes on moto plus scheduling on a loaded 2-core machine (xdist workers): wide enough
# not to flake, still far below SLOW_SECONDS, so a request that waited for the service fails.
MARGIN_SECONDS = 4.0
GENEROUS_MS = 5000  # the budget of every other test: a loaded machine must not look like a timeout
NEW_AGENT = {"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "Night shift"}


@pytest.fixture(autouse=True)
def _fresh_live_client() -> Iterator[None]:
    from ciq.live_agents.client import reset_client

    reset_client()
    yield
    reset_client()


@pytest.fixture
def live_agents(moto_table: None) -> ModuleType:
    return load_function("live_agents")


@pytest.fixture
def lc(live_agents: ModuleType) -> LiveClient:
    return LiveClient(live_agents, create_user())


@pytest.fixture
def data(lc: LiveClient, user_data: ModuleType) -> Client:
    """The same user calling /api/user-data."""
    return Client(user_data, lc.user_id)


def point_at(monkeypatch: pytest.MonkeyPatch, url: str, timeout_ms: int = GENEROUS_MS) -> None:
    import boto3

    from ciq.settings import reset_settings

    boto3.client("ssm").put_parameter(Name=KEY_PARAM, Type="SecureString", Value=API_KEY, Overwrite=True)
    monkeypatch.setenv("LIVE_AGENTS_API_URL", url)
    monkeypatch.setenv("LIVE_AGENTS_API_KEY_PARAM", KEY_PARAM)
    monkeypatch.setenv("LIVE_AGENTS_TIMEOUT_MS", str(timeout_ms))
    reset_settings()


@pytest.fixture
def upstream(moto_table: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[UpstreamServer]:
    server = UpstreamServer()
    point_at(monkeypatch, server.url)
    yield server
    server.close()


def stored_agents(data: Client) -> dict[str, dict[str, Any]]:
    return by_id(data.data()[0]["agents"])


def version_of(data: Client) -> int:
    return data.data()[1]


# -- store mode (LIVE_AGENTS_API_URL unset) -----------------------------------------------------------
def test_store_mode_get_persists_a_new_users_defaults_once(lc: LiveClient, data: Client) -> None:
    # Given a just-verified user and no live-agents service configured
    # When the agents are listed twice
    status, headers, first = lc.call("GET")
    again = lc.list()

    # Then the defaults were stored by the first read (version 1) and not written again
    assert (status, headers["ETag"]) == (200, '"1"')
    assert first == again
    assert first["source"] == "store" and first["degraded"] is True
    assert [a["id"] for a in first["agents"]] == ["agent-default-1"]
    assert version_of(data) == 1


def test_store_mode_writes_land_in_the_store_as_pending(lc: LiveClient, data: Client) -> None:
    # Given store mode
    # When an agent is created, renamed and another one deleted
    created_status, headers, created = lc.create(NEW_AGENT)
    agent_id = created["agent"]["id"]
    _, _, renamed = lc.update(agent_id, {"name": "Late shift"})
    _, _, deleted = lc.delete("agent-default-1")

    # Then every answer comes from the store, degraded, with the agent pending
    assert created_status == 201
    assert headers["ETag"] == '"1"'  # the new user's defaults and the create: one write
    for body in (created, renamed):
        assert (body["source"], body["degraded"], body["agent"]["syncState"]) == ("store", True, "pending")
    assert (deleted["source"], deleted["degraded"], deleted["agent"]["id"]) == (
        "store",
        True,
        "agent-default-1",
    )
    # And the store holds the result, visible through /api/user-data
    agents = stored_agents(data)
    assert list(agents) == [agent_id]
    assert (agents[agent_id]["name"], agents[agent_id]["syncState"]) == ("Late shift", "pending")


# -- live mode ---------------------------------------------------------------------------------------
def test_a_list_pushes_store_agents_the_service_lacks(lc: LiveClient, upstream: UpstreamServer) -> None:
    # Given a service that holds nothing for the user
    # When the agents are listed
    body = lc.list()

    # Then the store's default agent was sent (with the key as a Bearer token) and is synced
    assert (body["source"], body["degraded"]) == ("live", False)
    assert body["agents"][0]["syncState"] == "synced"
    record = upstream.fake.of(lc.user_id)["agent-default-1"]
    assert record == {
        "id": "agent-default-1",
        "userId": lc.user_id,
        "workspaceId": "ws-1",
        "knowledgeBaseId": "kb-default-1",
        "name": "My Agent",
        "status": "draft",
        "channels": [],
    }
    assert {s.authorization for s in upstream.fake.seen} == {f"Bearer {API_KEY}"}


def test_writes_sync_and_answer_live(lc: LiveClient, data: Client, upstream: UpstreamServer) -> None:
    # Given a reachable service
    # When an agent is created, updated, then deleted
    status, headers, created = lc.create(NEW_AGENT)
    agent_id = created["agent"]["id"]
    assert upstream.fake.of(lc.user_id)[agent_id]["name"] == "Night shift"
    _, _, updated = lc.update(agent_id, {"name": "Late shift", "status": "inactive"})
    assert upstream.fake.of(lc.user_id)[agent_id]["name"] == "Late shift"
    _, del_headers, deleted = lc.delete(agent_id)

    # Then each answer is live and synced, created with 201
    assert status == 201
    for body in (created, updated, deleted):
        assert (body["source"], body["degraded"], body["agent"]["syncState"]) == ("live", False, "synced")
    assert updated["agent"]["paused"] is True
    # And the service no longer holds the deleted agent, the store neither
    assert agent_id not in upstream.fake.of(lc.user_id)
    assert agent_id not in stored_agents(data)
    # And the ETag is the version after the sync's own write (it bumps the version too)
    assert int(headers["ETag"].strip('"')) < int(del_headers["ETag"].strip('"')) == version_of(data)


def test_the_store_wins_a_disagreement(lc: LiveClient, upstream: UpstreamServer) -> None:
    # Given the service holds the default agent differently (another name and KB id case, active)
    lc.list()
    upstream.fake.put(
        lc.user_id,
        {
            "id": "agent-default-1",
            "name": "Renamed upstream",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "status": "ENABLED",
        },
    )

    # When the agents are listed
    body = lc.list()

    # Then the store's version is answered and sent back to the service
    assert body["agents"][0]["name"] == "My Agent"
    assert upstream.fake.of(lc.user_id)["agent-default-1"]["name"] == "My Agent"
    assert upstream.fake.of(lc.user_id)["agent-default-1"]["status"] == "draft"


def test_an_upstream_only_record_that_validates_is_imported(
    lc: LiveClient, data: Client, upstream: UpstreamServer
) -> None:
    # Given the service holds an agent the store does not know, in the user's own workspace and KB
    # (snake_case fields, a status synonym)
    lc.list()
    version = version_of(data)
    upstream.fake.put(
        lc.user_id,
        {
            "id": "agent-upstream-7",
            "name": "  Imported  ",
            "workspace_id": "ws-1",
            "knowledge_base_id": "kb-default-1",
            "status": "Paused",
        },
    )

    # When the agents are listed
    body = lc.list()

    # Then it is imported into the store through the write flow (a new version), paused
    imported = by_id(body["agents"])["agent-upstream-7"]
    assert (imported["name"], imported["paused"], imported["workspaceId"]) == ("Imported", True, "ws-1")
    stored = stored_agents(data)
    assert "agent-upstream-7" in stored
    assert version_of(data) == version + 1
    # And, its status being derived (draft: the KB is incomplete), the store's view is sent back
    lc.list()
    assert upstream.fake.of(lc.user_id)["agent-upstream-7"]["status"] == "draft"
    assert stored_agents(data)["agent-upstream-7"]["syncState"] == "synced"


@pytest.mark.parametrize(
    "case",
    [
        ({"workspaceId": "ws-elsewhere", "knowledgeBaseId": "kb-default-1"}, "outside_reference"),
        ({"workspaceId": "ws-1", "knowledgeBaseId": "kb-of-someone-else"}, "outside_reference"),
        (
            {
                "workspaceId": "ws-1",
                "knowledgeBaseId": "kb-default-1",
                "channels": ["c1", "c2", "c3", "c4", "c5"],
            },
            "too_many_channels",
        ),
        (
            {"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "channels": ["conn-not-mine"]},
            "outside_reference",
        ),
    ],
)
def test_records_outside_the_users_data_or_over_four_channels_are_dropped_and_logged(
    lc: LiveClient,
    data: Client,
    upstream: UpstreamServer,
    caplog: pytest.LogCaptureFixture,
    case: tuple[dict[str, Any], str],
) -> None:
    record, reason = case
    # Given the service lists a record that names something outside the user's data, or too many channels
    lc.list()
    upstream.fake.put(lc.user_id, {"id": "agent-stray", "name": "Stray", "status": "active", **record})

    # When the agents are listed
    with caplog.at_level(logging.WARNING):
        body = lc.list()

    # Then it is never shown nor imported, and the reason is logged
    assert "agent-stray" not in by_id(body["agents"])
    assert "agent-stray" not in stored_agents(data)
    dropped = [r for r in caplog.records if r.getMessage() == "live-agents record dropped"]
    assert [(r.agent_id, r.reason) for r in dropped] == [("agent-stray", reason)]  # type: ignore[attr-defined]
    assert body["source"] == "live"


# -- fallback ----------------------------------------------------------------------------------------
def _slow(server: UpstreamServer) -> None:
    server.fake.mode, server.fake.delay = "slow", SLOW_SECONDS


def _status(code: int, body: bytes = b'{"error":"down"}') -> Any:
    def setup(server: UpstreamServer) -> None:
        server.fake.mode, server.fake.status, server.fake.body = "status", code, body

    return setup


def _malformed(body: bytes) -> Any:
    def setup(server: UpstreamServer) -> None:
        server.fake.mode, server.fake.body = "malformed", body

    return setup


FALLBACKS = {
    "timeout": _slow,
    "500": _status(500),
    "502": _status(502),
    "503": _status(503),
    "429": _status(429),
    "not-json": _malformed(b"<html>oops</html>"),
    "not-an-object": _malformed(b"[1, 2]"),
    "agents-not-a-list": _malformed(b'{"agents": {"id": "x"}}'),
    "no-agents": _malformed(b'{"items": []}'),
}


@pytest.mark.parametrize("trigger", sorted(FALLBACKS))
def test_every_fallback_answers_from_the_store_then_recovers(
    lc: LiveClient, data: Client, upstream: UpstreamServer, monkeypatch: pytest.MonkeyPatch, trigger: str
) -> None:
    # Given a service that fails in one way, and a short budget
    FALLBACKS[trigger](upstream)
    point_at(monkeypatch, upstream.url, TIMEOUT_MS)

    # When the agents are listed and an agent is created
    started = time.monotonic()
    listed = lc.list()
    listed_in = time.monotonic() - started
    status, _, created = lc.create(NEW_AGENT)
    agent_id = created["agent"]["id"]

    # Then the list answers from the store, degraded, within the timeout plus a small margin
    assert (listed["source"], listed["degraded"]) == ("store", True)
    assert [a["id"] for a in listed["agents"]] == ["agent-default-1"]
    if trigger == "timeout":  # the others fail at once; only a slow service tests the budget
        assert listed_in < TIMEOUT_MS / 1000 + MARGIN_SECONDS
    assert status == 201
    if upstream.fake.mode == "malformed":
        # (a malformed *list* says nothing about writes: the service took the PUT)
        assert (created["source"], created["agent"]["syncState"]) == ("live", "synced")
    else:
        # And the write is stored, pending, answered from the store
        assert (created["source"], created["degraded"], created["agent"]["syncState"]) == (
            "store",
            True,
            "pending",
        )
        assert stored_agents(data)[agent_id]["syncState"] == "pending"

    # When the service recovers and the agents are listed again
    upstream.fake.mode = "normal"
    point_at(monkeypatch, upstream.url)
    recovered = lc.list()

    # Then the pending write reached the service and is synced; nothing was lost
    assert (recovered["source"], recovered["degraded"]) == ("live", False)
    assert by_id(recovered["agents"])[agent_id]["syncState"] == "synced"
    assert upstream.fake.of(lc.user_id)[agent_id]["name"] == "Night shift"
    assert stored_agents(data)[agent_id]["syncState"] == "synced"


def test_a_refused_connection_falls_back_at_once(
    lc: LiveClient, data: Client, monkeypatch: pytest.MonkeyPatch, moto_table: None
) -> None:
    # Given a service URL nothing listens on
    point_at(monkeypatch, refused_url(), TIMEOUT_MS)

    # When the agents are listed and one is updated
    listed = lc.list()
    _, _, updated = lc.update("agent-default-1", {"name": "Front desk"})

    # Then both answer from the store, degraded (how fast is the benchmark's business: a wall-clock
    # bound here failed on a loaded 2-core machine)
    assert (listed["source"], listed["degraded"]) == ("store", True)
    assert (updated["source"], updated["agent"]["syncState"]) == ("store", "pending")


def test_a_slow_write_stays_pending_within_the_budget(
    lc: LiveClient, upstream: UpstreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a service that answers too late for the budget
    _slow(upstream)
    point_at(monkeypatch, upstream.url, TIMEOUT_MS)

    # When an agent is created
    started = time.monotonic()
    status, _, created = lc.create(NEW_AGENT)

    # Then it is stored, pending, and the answer came within the timeout plus a margin
    assert time.monotonic() - started < TIMEOUT_MS / 1000 + MARGIN_SECONDS
    assert (status, created["agent"]["syncState"], created["degraded"]) == (201, "pending", True)


def test_idempotent_calls_are_retried_once_after_a_transient_failure(
    lc: LiveClient, upstream: UpstreamServer
) -> None:
    # Given a service whose next answer is a 503
    upstream.fake.fail_next = 1

    # When the agents are listed
    body = lc.list()

    # Then the GET was retried and the sync completed live
    assert (body["source"], body["degraded"]) == ("live", False)
    assert [s.method for s in upstream.fake.seen][:3] == ["GET", "GET", "PUT"]


def test_an_unreadable_api_key_falls_back(
    lc: LiveClient, upstream: UpstreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key parameter that does not exist
    from ciq.settings import reset_settings

    monkeypatch.setenv("LIVE_AGENTS_API_KEY_PARAM", "/ciq/test/no-such-key")
    reset_settings()

    # When the agents are listed
    body = lc.list()

    # Then the store answers, degraded, and the service was not called
    assert (body["source"], body["degraded"]) == ("store", True)
    assert upstream.fake.seen == []


def test_the_api_key_is_never_logged(
    lc: LiveClient,
    upstream: UpstreamServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a reachable service, then a failing one, everything of ours and of httpx logged at DEBUG
    # (botocore is left at INFO: at DEBUG it dumps every AWS response, SSM's included, whatever the code)
    with (
        caplog.at_level(logging.INFO),
        caplog.at_level(logging.DEBUG, logger="ciq"),
        caplog.at_level(logging.DEBUG, logger="httpx"),
        caplog.at_level(logging.DEBUG, logger="httpcore"),
    ):
        lc.list()
        upstream.fake.mode, upstream.fake.status = "status", 500
        lc.create(NEW_AGENT)
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # the check saw the HTTP layer

    # Then the key appears in no log line and no output
    assert API_KEY not in caplog.text
    assert API_KEY not in capsys.readouterr().out


# -- rejection ---------------------------------------------------------------------------------------
def test_a_rejected_write_is_failed_with_the_reason_and_not_retried_until_it_changes(
    lc: LiveClient, data: Client, upstream: UpstreamServer
) -> None:
    # Given a service that refuses the default agent
    upstream.fake.mode, upstream.fake.rejected = "reject", {"agent-default-1"}

    # When the agent is renamed
    _, _, body = lc.update("agent-default-1", {"name": "Front desk"})

    # Then the write is stored, failed, with the service's reason (answered live)
    agent = body["agent"]
    assert (body["source"], body["degraded"]) == ("live", False)
    assert (agent["name"], agent["syncState"]) == ("Front desk", "failed")
    assert agent["syncError"] == "HTTP 422: agent agent-default-1 is not allowed"
    assert stored_agents(data)["agent-default-1"]["syncError"] == agent["syncError"]

    # When the agents are listed: the failed agent is not sent again
    puts = len(upstream.fake.calls("PUT"))
    lc.list()
    assert len(upstream.fake.calls("PUT")) == puts

    # When the service accepts again and the agent changes: it is synced, the reason cleared
    upstream.fake.rejected = set()
    _, _, again = lc.update("agent-default-1", {"name": "Front desk 2"})
    assert again["agent"]["syncState"] == "synced"
    assert "syncError" not in again["agent"]


def test_a_refused_deletion_is_kept_and_the_agent_never_comes_back(
    lc: LiveClient, data: Client, upstream: UpstreamServer
) -> None:
    # Given an agent the service holds and refuses to delete
    _, _, created = lc.create(NEW_AGENT)
    agent_id = created["agent"]["id"]
    upstream.fake.mode, upstream.fake.rejected = "reject", {agent_id}

    # When it is deleted
    _, _, deleted = lc.delete(agent_id)

    # Then the store deleted it; the answer says failed with the reason
    assert (deleted["agent"]["syncState"], deleted["source"]) == ("failed", "live")
    assert deleted["agent"]["syncError"].startswith("HTTP 422")
    assert agent_id not in stored_agents(data)
    # And a list does not import it back while the service still holds it
    assert agent_id not in by_id(lc.list()["agents"])
    # And once the service accepts, the deletion is sent again and done
    upstream.fake.rejected = set()
    lc.list()
    assert agent_id not in upstream.fake.of(lc.user_id)


# -- pending deletions and edits from /api/user-data -------------------------------------------------
def test_a_deletion_made_while_the_service_is_down_is_sent_later(
    lc: LiveClient, data: Client, upstream: UpstreamServer
) -> None:
    # Given an agent known to the service
    _, _, created = lc.create(NEW_AGENT)
    agent_id = created["agent"]["id"]

    # When it is deleted while the service is down
    upstream.fake.mode, upstream.fake.status = "status", 503
    _, _, deleted = lc.delete(agent_id)
    assert (deleted["agent"]["syncState"], deleted["degraded"]) == ("pending", True)

    # Then the next list, with the service back, deletes it there and does not re-import it
    upstream.fake.mode = "normal"
    body = lc.list()
    assert agent_id not in by_id(body["agents"])
    assert agent_id not in upstream.fake.of(lc.user_id)
    assert agent_id not in stored_agents(data)


def test_agent_edits_made_through_user_data_are_synced_by_the_next_call(
    lc: LiveClient, data: Client, upstream: UpstreamServer
) -> None:
    # Given a synced account
    lc.list()
    # When the agent is renamed, another created and the KB completed through /api/user-data
    body = data.ok(
        {"type": "agent.update", "agentId": "agent-default-1", "name": "Via user-data"},
        {
            "type": "agent.create",
            "id": "agent-ud",
            "workspaceId": "ws-1",
            "knowledgeBaseId": "kb-default-1",
            "name": "UD",
        },
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT},
    )

    # Then they are pending in the store
    agents = by_id(body["data"]["agents"])
    assert {a["syncState"] for a in agents.values()} == {"pending"}

    # When the agents are listed
    listed = lc.list()

    # Then the service holds the new names and derived statuses, and everything is synced
    held = upstream.fake.of(lc.user_id)
    assert (held["agent-default-1"]["name"], held["agent-default-1"]["status"]) == (
        "Via user-data",
        "inactive",
    )
    assert held["agent-ud"]["name"] == "UD"
    assert {a["syncState"] for a in listed["agents"]} == {"synced"}

    # When the agent is deleted through /api/user-data: the next list deletes it in the service
    data.ok({"type": "agent.delete", "agentId": "agent-ud"})
    lc.list()
    assert "agent-ud" not in upstream.fake.of(lc.user_id)


def test_a_sync_that_changes_nothing_writes_nothing(
    lc: LiveClient, data: Client, upstream: UpstreamServer
) -> None:
    # Given a synced account
    lc.list()
    version = version_of(data)

    # When the agents are listed again
    _, headers, _ = lc.call("GET")

    # Then no write happened
    assert headers["ETag"] == f'"{version}"'
    assert version_of(data) == version


# -- filter, versions, If-Match, Idempotency-Key -----------------------------------------------------
def test_the_list_filters_by_workspace(lc: LiveClient, data: Client) -> None:
    # Given two workspaces
    created = data.ok({"type": "workspace.create", "id": "ws-two", "name": "Two"})
    second_agent = created["results"][0]["agentId"]

    # When the agents of one are listed, then of all
    only = lc.list(workspaceId="ws-two")
    every = lc.list()

    # Then the filter keeps that workspace's agents only
    assert [a["id"] for a in only["agents"]] == [second_agent]
    assert [a["id"] for a in every["agents"]] == ["agent-default-1", second_agent]


def test_if_match_pins_the_version(lc: LiveClient) -> None:
    # Given the stored version
    _, headers, _ = lc.call("GET")
    version = headers["ETag"]

    # When a stale If-Match is sent, then the current one
    stale = lc.update("agent-default-1", {"name": "A"}, headers={"If-Match": '"99"'})
    fresh = lc.update("agent-default-1", {"name": "B"}, headers={"If-Match": version})
    deleted = lc.delete("agent-default-1", headers={"If-Match": version})
    created = lc.create(NEW_AGENT, headers={"If-Match": version})

    # Then the stale one is 412 and the fresh one applies; a reused one is 412 again
    assert (stale[0], stale[2]["error"]["code"]) == (412, "version_mismatch")
    assert fresh[0] == 200
    assert (deleted[0], created[0]) == (412, 412)


def test_an_idempotent_create_is_applied_once_and_replays_the_final_answer(
    lc: LiveClient, data: Client, upstream: UpstreamServer
) -> None:
    # Given a reachable service
    key = {"Idempotency-Key": "create-once-1"}

    # When the same create is sent twice with one key
    first = lc.create(NEW_AGENT, headers=key)
    replay = lc.create(NEW_AGENT, headers=key)

    # Then one agent exists and the replay is the first (synced) answer with its ETag
    assert first[0] == replay[0] == 201
    assert replay[2] == first[2]
    assert replay[1]["ETag"] == first[1]["ETag"]
    assert replay[1]["Idempotent-Replayed"] == "true"
    assert first[2]["agent"]["syncState"] == "synced"
    assert len(stored_agents(data)) == 2
    # And the key with another body is refused
    other = lc.create({**NEW_AGENT, "name": "Other"}, headers=key)
    assert (other[0], other[2]["error"]["code"]) == (422, "idempotency_key_reused")


def test_idempotency_keys_are_scoped_to_the_agent_path(lc: LiveClient) -> None:
    # Given two agents
    _, _, created = lc.create(NEW_AGENT)
    second = created["agent"]["id"]

    # When the same key renames both
    key = {"Idempotency-Key": "rename-1"}
    one = lc.update("agent-default-1", {"name": "X"}, headers=key)
    two = lc.update(second, {"name": "X"}, headers=key)

    # Then both applied (the key is scoped per path)
    assert (one[0], two[0]) == (200, 200)
    assert "Idempotent-Replayed" not in two[1]


# -- bad input ---------------------------------------------------------------------------------------
def test_activation_follows_the_agent_rules(lc: LiveClient, data: Client) -> None:
    # Given an agent on an incomplete KB without a connection
    # When it is set active
    status, _, body = lc.update("agent-default-1", {"status": "active"})
    # Then 409 agent_not_ready lists both unmet conditions
    assert (status, body["error"]["code"]) == (409, "agent_not_ready")
    assert {d["code"] for d in body["error"]["details"]} == {"kb_incomplete", "no_active_connection"}

    # When the KB is complete and it has an active web-chat connection
    data.ok(
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT},
        {"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat"},
    )
    _, _, paused = lc.update("agent-default-1", {"status": "inactive"})
    _, _, active = lc.update("agent-default-1", {"status": "active"})
    # Then it can be paused and activated
    assert (paused["agent"]["status"], active["agent"]["status"]) == ("inactive", "active")


BAD_CREATES = [
    ("[1]", 400, "invalid_json"),  # not an object (CONTRACT §11)
    ("{", 400, "invalid_json"),
    ("", 400, "invalid_json"),
    ('{"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1"}', 422, "validation_failed"),
    ('{"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": ""}', 422, "validation_failed"),
    (
        '{"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "A", "color": "red"}',
        422,
        "validation_failed",
    ),
    (
        '{"type": "agent.create", "workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "A"}',
        422,
        "validation_failed",
    ),
    ('{"workspaceId": "ws-nope", "knowledgeBaseId": "kb-default-1", "name": "A"}', 404, "not_found"),
    ('{"workspaceId": "ws-1", "knowledgeBaseId": "kb-nope", "name": "A"}', 404, "not_found"),
    (
        '{"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "A", "id": "bad id"}',
        422,
        "validation_failed",
    ),
    (
        '{"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "A", "id": "agent-default-1"}',
        409,
        "id_taken",
    ),
    (
        '{"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "' + "n" * 121 + '"}',
        422,
        "validation_failed",
    ),
]


@pytest.mark.parametrize(("raw", "status", "code"), BAD_CREATES)
def test_bad_creates_are_refused_and_change_nothing(
    lc: LiveClient, data: Client, raw: str, status: int, code: str
) -> None:
    # Given the stored data
    before = data.data()
    # When a bad create is sent
    got, headers, body = lc.call("POST", raw_body=raw)
    # Then it is refused with the contract error and nothing changed
    assert (got, body["error"]["code"]) == (status, code), body
    assert headers["Content-Type"].startswith("application/json")
    assert data.data() == before


def test_a_kb_of_another_workspace_is_an_invariant_violation(lc: LiveClient, data: Client) -> None:
    # Given a second workspace and its KB
    created = data.ok({"type": "workspace.create", "name": "Two"})
    other_kb = created["results"][0]["knowledgeBaseId"]
    # When an agent of ws-1 is created on it, or moved to it
    create = lc.create({**NEW_AGENT, "knowledgeBaseId": other_kb})
    move = lc.update("agent-default-1", {"knowledgeBaseId": other_kb})
    # Then both are 409 invariant_violation pointing at the KB
    for status, _, body in (create, move):
        assert (status, body["error"]["code"]) == (409, "invariant_violation")
        assert body["error"]["details"][0]["path"] == "/knowledgeBaseId"


BAD_UPDATES = [
    ("agent-default-1", '{"agentId": "agent-default-1", "name": "A"}', 422, "validation_failed"),
    ("agent-default-1", '{"type": "agent.update"}', 422, "validation_failed"),
    ("agent-default-1", '{"status": "draft"}', 422, "validation_failed"),
    ("agent-default-1", '{"status": "ACTIVE"}', 422, "validation_failed"),
    ("agent-default-1", '{"name": null}', 422, "validation_failed"),
    ("agent-default-1", '{"paused": true}', 422, "validation_failed"),
    ("agent-default-1", '"name"', 400, "invalid_json"),  # not an object (CONTRACT §11)
    ("agent-default-1", "not json", 400, "invalid_json"),
    ("agent-nope", '{"name": "A"}', 404, "not_found"),
    ("bad id!", '{"name": "A"}', 404, "not_found"),
    ("agent-default-1", '{"knowledgeBaseId": "kb-nope"}', 404, "not_found"),
]


@pytest.mark.parametrize("case", BAD_UPDATES)
def test_bad_updates_are_refused_and_change_nothing(
    lc: LiveClient, data: Client, case: tuple[str, str, int, str]
) -> None:
    # Given the stored data; When a bad update is sent; Then it is refused and nothing changed
    agent_id, raw, status, code = case
    before = data.data()
    got, _, body = lc.call("PATCH", agent_id, raw_body=raw)
    assert (got, body["error"]["code"]) == (status, code), body
    assert data.data() == before


def test_bad_deletes_are_refused_and_change_nothing(lc: LiveClient, data: Client) -> None:
    # Given the defaults (one agent in the workspace)
    before = data.data()
    # When the last agent, an unknown one, or one with a body is deleted
    last = lc.delete("agent-default-1")
    unknown = lc.delete("agent-nope")
    json_type = {"Content-Type": "application/json"}
    with_body = lc.call("DELETE", "agent-default-1", raw_body='{"force": true}', headers=json_type)
    undeclared = lc.call("DELETE", "agent-default-1", raw_body='{"force": true}')
    # Then 409, 404 and 422 (415 for a body not declared JSON), and nothing changed
    assert (last[0], last[2]["error"]["code"]) == (409, "invariant_violation")
    assert (unknown[0], unknown[2]["error"]["code"]) == (404, "not_found")
    assert (with_body[0], with_body[2]["error"]["code"]) == (422, "validation_failed")
    assert (undeclared[0], undeclared[2]["error"]["code"]) == (415, "unsupported_media_type")
    assert data.data() == before


def test_too_large_bodies_are_413(lc: LiveClient) -> None:
    big = '{"name": "' + "a" * (256 * 1024) + '"}'
    for status, _, body in (
        lc.call("POST", raw_body=big),
        lc.call("PATCH", "agent-default-1", raw_body=big),
        lc.call("DELETE", "agent-default-1", raw_body=big, headers={"Content-Type": "application/json"}),
    ):
        assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_bad_queries(lc: LiveClient) -> None:
    unknown_ws = lc.call("GET", query={"workspaceId": "ws-nope"})
    unknown_param = lc.call("GET", query={"workspace": "ws-1"})
    assert (unknown_ws[0], unknown_ws[2]["error"]["code"]) == (404, "not_found")
    assert (unknown_param[0], unknown_param[2]["error"]["code"]) == (422, "validation_failed")
    assert unknown_param[2]["error"]["details"][0]["path"] == "/workspace"


@pytest.mark.parametrize(
    ("method", "agent_id", "allow"),
    [
        ("PUT", None, "GET, OPTIONS, POST"),
        ("DELETE", None, "GET, OPTIONS, POST"),
        ("GET", "agent-default-1", "DELETE, OPTIONS, PATCH"),
        ("POST", "agent-default-1", "DELETE, OPTIONS, PATCH"),
    ],
)
def test_wrong_methods_are_405(lc: LiveClient, method: str, agent_id: str | None, allow: str) -> None:
    status, headers, body = lc.call(method, agent_id, raw_body="{}")
    assert (status, body["error"]["code"], headers["Allow"]) == (405, "method_not_allowed", allow)


def test_preflights_answer_the_route_methods(lc: LiveClient) -> None:
    status, headers, _ = lc.call("OPTIONS", "agent-default-1", headers={"Origin": "https://app.example.com"})
    assert status == 204
    assert headers["Access-Control-Allow-Methods"] == "DELETE, OPTIONS, PATCH"
