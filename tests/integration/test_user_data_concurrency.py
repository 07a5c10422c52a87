"""If-Match, Idempotency-Key and concurrent writers on /api/user-data (CONTRACT §4, §7
"Optimistic concurrency", §9 "Versions", §10 "Writes"). The concurrency tests run on moto with
DynamoDB calls serialized (see `serialized_dynamodb`); their racing requests run the handler's
service call from threads (`Client.racing_post`), as concurrent requests run in separate sandboxes
on AWS. The same races on a real DynamoDB engine are in tests/dynamodb_local."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.conftest import Client, agent, create_user, workspace

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Runs `work(i)` in `count` threads released at the same moment; returns results by index."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


# -- If-Match --------------------------------------------------------------------------------------
def test_a_matching_if_match_applies_the_mutation(client: Client) -> None:
    # Given a user who read version 1
    _, headers, _ = client.get()
    assert headers["ETag"] == '"1"'

    # When they write with If-Match set to that ETag
    status, headers, body = client.post(
        {"type": "profile.update", "company": "Acme"}, headers={"If-Match": '"1"'}
    )

    # Then the write applies and the new ETag is the new version
    assert status == 200, body
    assert (body["version"], headers["ETag"]) == (2, '"2"')
    assert body["data"]["profile"]["company"] == "Acme"


@pytest.mark.parametrize("form", ['W/"2"', "2", ' "2" '])
def test_if_match_accepts_weak_and_bare_forms(client: Client, form: str) -> None:
    client.data()  # version 1 (the defaults)
    client.ok({"type": "group.create", "name": "G"})  # version 2
    status, _, body = client.post({"type": "profile.update", "company": "X"}, headers={"If-Match": form})
    assert (status, body["version"]) == (200, 3)


@pytest.mark.parametrize("name", ["if-match", "IF-MATCH"])
def test_header_names_are_case_insensitive(client: Client, name: str) -> None:
    # Given a user at version 1; When a stale If-Match arrives in another casing; Then it still counts
    client.data()
    client.ok({"type": "group.create", "name": "G"})
    client.fails({"type": "group.create", "name": "H"}, 412, "version_mismatch", headers={name: '"1"'})


def test_a_stale_if_match_is_412_and_applies_nothing(client: Client) -> None:
    # Given a user who read version 1, then changed their data from another tab (version 2)
    client.data()
    client.ok({"type": "group.create", "name": "From another tab"})

    # When the first tab writes with If-Match "1"
    error = client.fails(
        {"type": "workspace.create", "name": "Late"}, 412, "version_mismatch", headers={"If-Match": '"1"'}
    )

    # Then it is refused with a message telling the current version
    assert "2" in error["message"]


@pytest.mark.parametrize("value", ["abc", '"v1"', '"-1"', '"1.0"', ""])
def test_a_malformed_if_match_is_412(client: Client, value: str) -> None:
    client.fails({"type": "group.create", "name": "G"}, 412, "version_mismatch", headers={"If-Match": value})


def test_if_match_star_pins_nothing(client: Client) -> None:
    client.data()
    client.ok({"type": "group.create", "name": "G"})
    status, _, body = client.post({"type": "group.create", "name": "H"}, headers={"If-Match": "*"})
    assert (status, body["version"]) == (200, 3)


def test_concurrent_writers_with_the_same_if_match_one_wins(
    user_data: ModuleType, serialized_dynamodb: object
) -> None:
    # Given a user at version 1 and six tabs that all read it
    user_id = create_user()
    Client(user_data, user_id).data()

    # When all six write at once with If-Match "1"
    def write(i: int) -> tuple[int, Any]:
        status, _, body = Client(user_data, user_id).racing_post(
            {"type": "group.create", "name": f"G{i}"}, headers={"If-Match": '"1"'}
        )
        return status, body

    outcomes = run_together(6, write)

    # Then exactly one applies and the others get 412 (never a retry over a pinned version)
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200, 412, 412, 412, 412, 412]
    data, version = Client(user_data, user_id).data()
    assert version == 2
    assert len(data["groups"]) == 2


# -- Idempotency-Key -------------------------------------------------------------------------------
def test_a_replay_returns_the_first_response_and_applies_nothing_twice(client: Client) -> None:
    # Given a workspace.create sent with an Idempotency-Key
    mutation = {"type": "workspace.create", "name": "Once", "description": "only one"}
    status, headers, first = client.post(mutation, idempotency_key="key-1")
    assert status == 200
    assert "Idempotent-Replayed" not in headers

    # When the same request is sent again (a retry after a lost response; keys reordered on the wire)
    status, headers, replay = client.post(dict(reversed(list(mutation.items()))), idempotency_key="key-1")

    # Then it answers exactly as the first time, marked as a replay, and nothing was applied twice
    assert status == 200
    assert headers["Idempotent-Replayed"] == "true"
    assert headers["ETag"] == f'"{first["version"]}"'
    assert replay == first
    data, version = client.data()
    assert version == first["version"]
    assert [w["name"] for w in data["workspaces"]] == ["My Workspace", "Once"]


def test_a_replay_after_later_changes_still_returns_the_first_response(client: Client) -> None:
    # Given a request with a key, then another change
    _, _, first = client.post({"type": "group.create", "name": "G"}, idempotency_key="key-2")
    client.ok({"type": "group.create", "name": "H"})

    # When the first request is replayed
    status, _, replay = client.post({"type": "group.create", "name": "G"}, idempotency_key="key-2")

    # Then it returns the first answer (not a re-application, not the current data)
    assert (status, replay) == (200, first)
    data, version = client.data()
    assert version == first["version"] + 1
    assert [g["name"] for g in data["groups"]] == ["Default group", "G", "H"]


def test_the_same_key_with_another_body_is_422(client: Client) -> None:
    # Given a key already used
    client.post({"type": "group.create", "name": "G"}, idempotency_key="key-3")

    # When it is used with a different body; Then 422 idempotency_key_reused, nothing applied
    client.fails(
        {"type": "group.create", "name": "Other"}, 422, "idempotency_key_reused", idempotency_key="key-3"
    )


def test_keys_are_scoped_per_user(new_client) -> None:
    # Given Alice used a key
    alice, bob = new_client(), new_client()
    alice.post({"type": "group.create", "name": "Alice's"}, idempotency_key="shared-key")

    # When Bob uses the same key with another body (and with the same body)
    status, headers, body = bob.post({"type": "group.create", "name": "Bob's"}, idempotency_key="shared-key")

    # Then Bob's request is applied to Bob's data, not replayed or refused
    assert status == 200, body
    assert "Idempotent-Replayed" not in headers
    assert [g["name"] for g in body["data"]["groups"]] == ["Default group", "Bob's"]
    status, headers, body = bob.post({"type": "group.create", "name": "Alice's"}, idempotency_key="other-key")
    assert status == 200
    assert [g["name"] for g in alice.data()[0]["groups"]] == ["Default group", "Alice's"]


def test_keys_are_scoped_per_method(client: Client) -> None:
    # Given a key used on POST
    _, _, posted = client.post({"type": "group.create", "name": "G"}, idempotency_key="key-m")

    # When the same key is used on PUT (an import pinned to the current version)
    document = {"data": {"workspaces": [{"id": "ws-9", "name": "Imported"}]}}
    status, headers, body = client.put(
        document, idempotency_key="key-m", headers={"If-Match": f'"{posted["version"]}"'}
    )

    # Then the import runs (it is not a reuse of the POST's key)
    assert status == 200, body
    assert "Idempotent-Replayed" not in headers
    assert [w["id"] for w in body["data"]["workspaces"]] == ["ws-9"]


def test_a_failed_request_does_not_use_up_its_key(client: Client) -> None:
    # Given a request with a key that was refused
    client.fails(
        {"type": "workspace.delete", "workspaceId": "ws-1"},
        409,
        "invariant_violation",
        idempotency_key="key-4",
    )

    # When the key is used again with a corrected body; Then it applies normally
    status, headers, body = client.post({"type": "group.create", "name": "G"}, idempotency_key="key-4")
    assert status == 200, body
    assert "Idempotent-Replayed" not in headers


@pytest.mark.parametrize("key", ["k" * 256, "caf\u00e9", "tab\there"])
def test_an_invalid_idempotency_key_is_422(client: Client, key: str) -> None:
    client.fails({"type": "group.create", "name": "G"}, 422, "validation_failed", idempotency_key=key)


def test_concurrent_requests_with_one_key_apply_once(
    user_data: ModuleType, serialized_dynamodb: object
) -> None:
    # Given a user, and a client that sends the same keyed request from four threads at once
    user_id = create_user()
    Client(user_data, user_id).data()

    def send(_: int) -> tuple[int, Any]:
        status, _, body = Client(user_data, user_id).racing_post(
            {"type": "workspace.create", "name": "Exactly once"}, idempotency_key="race-key"
        )
        return status, body

    outcomes = run_together(4, send)

    # Then all four get the same 200 answer and the workspace exists once
    assert {status for status, _ in outcomes} == {200}
    assert all(body == outcomes[0][1] for _, body in outcomes)
    data, version = Client(user_data, user_id).data()
    assert version == 2
    assert [w["name"] for w in data["workspaces"]].count("Exactly once") == 1


# -- concurrent writers ----------------------------------------------------------------------------
def test_concurrent_writers_to_one_account_all_succeed_without_lost_updates(
    user_data: ModuleType, serialized_dynamodb: object
) -> None:
    # Given a user at version 1
    user_id = create_user()
    Client(user_data, user_id).data()

    # When eight requests change the account at once: new workspaces, ws-1 itself, the profile, groups
    mutations = [
        {"type": "workspace.create", "name": "W0"},
        {"type": "workspace.create", "name": "W1"},
        {"type": "workspace.update", "workspaceId": "ws-1", "description": "edited"},
        {"type": "profile.update", "company": "Concurrent Ltd"},
        {"type": "group.create", "name": "G"},
        {"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat", "label": "Chat"},
        {"type": "knowledgeBase.create", "workspaceId": "ws-1", "name": "KB2"},
        {"type": "nodePositions.set", "workspaceId": "ws-1", "positions": {"n": {"x": 1, "y": 1}}},
    ]

    def write(i: int) -> tuple[int, Any]:
        status, _, body = Client(user_data, user_id).racing_post(mutations[i])
        return status, body

    outcomes = run_together(len(mutations), write)

    # Then every request succeeded, each at its own version, and the final state holds every change
    assert [status for status, _ in outcomes] == [200] * len(mutations), outcomes
    assert sorted(body["version"] for _, body in outcomes) == list(range(2, 2 + len(mutations)))
    data, version = Client(user_data, user_id).data()
    assert version == 1 + len(mutations)
    assert data["workspaces"][0]["name"] == "My Workspace"
    assert sorted(w["name"] for w in data["workspaces"]) == ["My Workspace", "W0", "W1"]
    assert workspace(data, "ws-1")["description"] == "edited"
    assert workspace(data, "ws-1")["numberOfKnowledgeBases"] == 2
    assert data["profile"]["company"] == "Concurrent Ltd"
    assert [g["name"] for g in data["groups"]] == ["Default group", "G"]
    assert [c["label"] for c in data["connections"]] == ["Chat"]
    assert data["nodePositions"] == {"ws-1": {"n": {"x": 1.0, "y": 1.0}}}
    assert len(data["agents"]) == 3  # ws-1's, W0's and W1's


def test_concurrent_connections_on_one_agent_respect_its_capacity(
    user_data: ModuleType, serialized_dynamodb: object
) -> None:
    # Given a user at version 1 (the default agent has room for 4)
    user_id = create_user()
    Client(user_data, user_id).data()

    # When six web-chat connections are added at once
    def add(i: int) -> int:
        status, _, _ = Client(user_data, user_id).racing_post(
            {"type": "connection.create", "workspaceId": "ws-1", "family": "web-chat", "label": f"C{i}"}
        )
        return status

    assert run_together(6, add) == [200] * 6

    # Then all six exist, the default agent holds 4 and "My Agent 2" the other 2 (the rule was re-applied
    # on every retry, so no agent was over-filled and only one extra agent was made)
    data, version = Client(user_data, user_id).data()
    assert version == 7
    assert sorted(c["label"] for c in data["connections"]) == [f"C{i}" for i in range(6)]
    assert len(agent(data, "agent-default-1")["connectionIds"]) == 4
    assert sorted(a["name"] for a in data["agents"]) == ["My Agent", "My Agent 2"]
    assert all(len(a["connectionIds"]) <= 4 for a in data["agents"])


# -- when conflicts do not stop, or the store is down ----------------------------------------------
def test_a_conflict_that_never_clears_ends_in_409_with_retry_after(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account whose every conditional write loses a race (retries limited to 0.3 s)
    from ciq.settings import reset_settings
    from ciq.store import user_store
    from ciq.store.errors import VersionConflict

    before = client.data()
    monkeypatch.setenv("WRITE_RETRY_SECONDS", "0.3")
    reset_settings()
    attempts: list[int] = []

    def always_conflict(*_: Any, **__: Any) -> int:
        attempts.append(1)
        raise VersionConflict

    monkeypatch.setattr(user_store, "save", always_conflict)

    # When an intent-based mutation is sent
    status, headers, body = client.post({"type": "group.create", "name": "G"})

    # Then it was retried server-side, then answered 409 concurrent_modification with Retry-After
    assert (status, body["error"]["code"]) == (409, "concurrent_modification")
    assert int(headers["Retry-After"]) >= 1
    assert len(attempts) > 1

    # And with If-Match the first conflict is a 412 (a pinned version is never re-applied)
    attempts.clear()
    status, _, body = client.post({"type": "group.create", "name": "G"}, headers={"If-Match": '"1"'})
    assert (status, body["error"]["code"], len(attempts)) == (412, "version_mismatch", 1)
    monkeypatch.undo()
    reset_settings()
    assert client.data() == before


def test_a_throttled_store_is_503_with_retry_after(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a store that throttles every write
    from botocore.exceptions import ClientError

    from ciq.store import clients

    client.data()
    real = clients.dynamodb()

    def throttled(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems"
        )

    monkeypatch.setattr(real, "transact_write_items", throttled)

    # When a mutation is sent; Then 503 dependency_unavailable with Retry-After, no stack trace
    status, headers, body = client.post({"type": "group.create", "name": "G"})
    assert (status, body["error"]["code"]) == (503, "dependency_unavailable")
    assert headers["Retry-After"] == "1"
    assert "Traceback" not in json.dumps(body)
