"""Writes that read what they touch (issue 13, docs/architecture/write-flow.md "Scoped writes"): a
write answered minimally (`Prefer: return=minimal`) loads the root and only the workspace items its
mutations name or hold, and answers, refuses and stores exactly what a write of the whole account
does."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciq.domain.delta import apply_delta
from tests.integration.conftest import COMPLETE_DRAFT, Client, create_user, stored_items

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    import pytest

MINIMAL = {"Prefer": "return=minimal"}


@contextmanager
def dynamodb_calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The DynamoDB operations (and their parameters) of every client the store makes meanwhile."""
    import boto3

    from ciq.store.clients import dynamodb, reset_clients

    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, params))

    dynamodb()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("provide-client-params.dynamodb", record, unique_id="scoped-calls")
    reset_clients()
    try:
        yield calls
    finally:
        events.unregister("provide-client-params.dynamodb", unique_id="scoped-calls")
        reset_clients()


def three_workspaces(client: Client) -> dict[str, Any]:
    """ws-1 (the default), ws-b and ws-c, each with a second KB; returns the data."""
    client.data()
    for workspace_id in ("ws-b", "ws-c"):
        client.ok({"type": "workspace.create", "id": workspace_id, "name": workspace_id})
    for workspace_id in ("ws-1", "ws-b", "ws-c"):
        client.ok({"type": "knowledgeBase.create", "workspaceId": workspace_id, "id": f"kb-2-{workspace_id}"})
    return client.data()[0]


def test_a_minimal_edit_reads_the_root_and_its_one_workspace_item(client: Client) -> None:
    # Given an account of three workspaces
    three_workspaces(client)

    # When a KB of ws-b is renamed with a minimal answer
    with dynamodb_calls() as calls:
        status, _, answer = client.post(
            {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-2-ws-b", "name": "Renamed"},
            headers=MINIMAL,
        )

    # Then the root and the id index are read, then ws-b's item alone, then the transaction writes
    # the root and that item (no id came or went: the index stays): no Query
    assert status == 200, answer
    assert [name for name, _ in calls] == ["BatchGetItem", "BatchGetItem", "TransactWriteItems"]
    assert read_keys(calls[0][1]) == ["D#ROOT", "D#INDEX"]
    assert read_keys(calls[1][1]) == ["D#WS#ws-b"]
    assert all(next(iter(c[1]["RequestItems"].values()))["ConsistentRead"] for c in calls[:2])
    assert written_keys(calls[2][1]) == ["D#ROOT", "D#WS#ws-b"]
    assert [kb["name"] for kb in answer["changed"]["knowledgeBases"]] == ["Renamed"]
    assert client.data()[0]["knowledgeBases"][-2]["name"] == "Renamed"


def test_a_root_only_change_reads_no_workspace_item(client: Client) -> None:
    # Given an account of three workspaces
    three_workspaces(client)

    # When the profile is changed with a minimal answer
    with dynamodb_calls() as calls:
        status, _, answer = client.post({"type": "profile.update", "company": "New Co"}, headers=MINIMAL)

    # Then only the root (with the index) is read, and the root alone written
    assert status == 200, answer
    assert [name for name, _ in calls] == ["BatchGetItem", "TransactWriteItems"]
    assert written_keys(calls[1][1]) == ["D#ROOT"]
    assert answer["profile"]["company"] == "New Co"


def test_a_create_writes_the_id_index_with_its_workspace(client: Client) -> None:
    # Given an account of three workspaces
    three_workspaces(client)

    # When a KB is created in ws-c with a minimal answer
    with dynamodb_calls() as calls:
        status, _, answer = client.post(
            {"type": "knowledgeBase.create", "workspaceId": "ws-c", "id": "kb-new"}, headers=MINIMAL
        )

    # Then the root, the index and ws-c are read in one call; the index is written in the same
    # transaction, and names the new KB in ws-c
    assert status == 200, answer
    assert [name for name, _ in calls] == ["BatchGetItem", "TransactWriteItems"]
    assert read_keys(calls[0][1]) == ["D#ROOT", "D#INDEX", "D#WS#ws-c"]
    assert sorted(written_keys(calls[-1][1])) == ["D#INDEX", "D#ROOT", "D#WS#ws-c"]
    from ciq.store.codec import decode_body

    assert "kb-new" in json.loads(decode_body(stored_items(client.user_id)["D#INDEX"]))["homes"]["ws-c"]


def read_keys(params: dict[str, Any]) -> list[str]:
    return [key["sk"]["S"] for key in next(iter(params["RequestItems"].values()))["Keys"]]


def written_keys(params: dict[str, Any]) -> list[str]:
    entries = [next(iter(entry.values())) for entry in params["TransactItems"]]
    return [(entry.get("Item") or entry["Key"])["sk"]["S"] for entry in entries]


def test_a_full_answer_still_reads_the_whole_account(client: Client) -> None:
    # Given an account of three workspaces
    three_workspaces(client)

    # When a KB is renamed without Prefer
    with dynamodb_calls() as calls:
        client.ok({"type": "knowledgeBase.update", "knowledgeBaseId": "kb-2-ws-b", "name": "Renamed"})

    # Then the whole account is read (the answer is all of it)
    assert [name for name, _ in calls] == ["Query", "TransactWriteItems"]


def test_an_id_taken_in_a_workspace_not_loaded_is_refused_as_before(client: Client) -> None:
    # Given an account whose ws-c holds kb-2-ws-c
    three_workspaces(client)

    # When a KB is created in ws-b with that id, answered minimally
    error = client.fails(
        {"type": "knowledgeBase.create", "workspaceId": "ws-b", "id": "kb-2-ws-c"},
        409,
        "id_taken",
        headers=MINIMAL,
    )

    # Then the claim is refused against the whole account's ids
    assert error["details"][0]["path"] == "/id"


def test_a_reference_into_another_workspace_is_refused_as_before(client: Client) -> None:
    # Given an account of three workspaces
    three_workspaces(client)

    # When ws-b's default KB would become a KB of ws-c
    error = client.fails(
        {"type": "workspace.update", "workspaceId": "ws-b", "defaultKbId": "kb-2-ws-c"},
        409,
        "invariant_violation",
        headers=MINIMAL,
    )

    # Then the rule sees both workspaces and refuses, as with the whole account
    assert error["details"][0]["code"] == "cross_workspace"


def test_an_entity_created_before_a_stored_one_gets_the_whole_accounts_answer(client: Client) -> None:
    # Given an account whose data was imported with a KB created in the future
    client.data()
    data, version = client.data()
    future = json.loads(json.dumps(data))
    future["knowledgeBases"][0]["createdAt"] = "2999-01-01T00:00:00.000Z"
    status, _, body = client.put({"data": future}, headers={"If-Match": f'"{version}"'})
    assert status == 200, body
    held, _ = client.data()

    # When a KB is created now with a minimal answer
    status, _, answer = client.post(
        {"type": "knowledgeBase.create", "workspaceId": "ws-1", "id": "kb-now"}, headers=MINIMAL
    )

    # Then the answer names the order (the new KB sorts before the future one), and applying it
    # gives what a read returns
    assert status == 200, answer
    assert "knowledgeBases" in answer["order"]
    assert apply_delta(held, answer) == client.data()[0]


def test_an_account_stored_before_the_index_is_read_whole_once(client: Client) -> None:
    # Given an account written before the id index existed (no index item, no index_version)
    import boto3

    from ciq.settings import get_settings
    from ciq.store.codec import decode_body, encode_body

    three_workspaces(client)
    dynamodb, table = boto3.client("dynamodb"), get_settings().table_name
    root = stored_items(client.user_id)["D#ROOT"]
    body = json.loads(decode_body(root))
    del body["index_version"]
    root = {key: value for key, value in root.items() if key not in ("j", "z")}
    root.update(encode_body(json.dumps(body).encode(), "account"))
    dynamodb.put_item(TableName=table, Item=root)
    dynamodb.delete_item(TableName=table, Key={"pk": root["pk"], "sk": {"S": "D#INDEX"}})

    # When two minimal edits follow
    with dynamodb_calls() as first:
        assert client.post({"type": "profile.update", "company": "A"}, headers=MINIMAL)[0] == 200
    with dynamodb_calls() as second:
        assert client.post({"type": "profile.update", "company": "B"}, headers=MINIMAL)[0] == 200

    # Then the first reads the whole account and stores the index; the second reads the root alone
    assert [name for name, _ in first] == ["BatchGetItem", "Query", "TransactWriteItems"]
    assert sorted(written_keys(first[-1][1])) == ["D#INDEX", "D#ROOT"]
    assert [name for name, _ in second] == ["BatchGetItem", "TransactWriteItems"]


def test_a_change_that_fills_a_transaction_leaves_the_index_to_the_next_write(client: Client) -> None:
    # Given the defaults, then an import of 98 workspaces: root + 98 workspace items + ws-1's delete
    # fill the 100 items of one transaction, with no room for the id index
    from ciq.store.codec import decode_body

    client.data()
    document = {"data": {"workspaces": [{"id": f"ws-imp-{i}", "name": f"W{i}"} for i in range(98)]}}
    status, _, body = client.put(document)
    assert status == 200, body
    assert json.loads(decode_body(stored_items(client.user_id)["D#ROOT"])).get("index_version") is None

    # When a minimal edit follows
    with dynamodb_calls() as calls:
        status, _, answer = client.post({"type": "profile.update", "company": "After"}, headers=MINIMAL)

    # Then it reads the whole account, and writes the index with its change
    assert status == 200, answer
    assert [name for name, _ in calls] == ["BatchGetItem", "Query", "TransactWriteItems"]
    assert sorted(written_keys(calls[-1][1])) == ["D#INDEX", "D#ROOT"]
    index = json.loads(decode_body(stored_items(client.user_id)["D#INDEX"]))
    assert len(index["homes"]) == 98


def test_an_index_lost_for_good_is_read_around_and_stored_again(client: Client) -> None:
    # Given an account whose index item is gone while the root still names its version (a restore)
    import boto3

    from ciq.settings import get_settings

    three_workspaces(client)
    root = stored_items(client.user_id)["D#ROOT"]
    boto3.client("dynamodb").delete_item(
        TableName=get_settings().table_name, Key={"pk": root["pk"], "sk": {"S": "D#INDEX"}}
    )

    # When two minimal edits follow
    with dynamodb_calls() as first:
        status, _, answer = client.post({"type": "profile.update", "company": "A"}, headers=MINIMAL)
    with dynamodb_calls() as second:
        assert client.post({"type": "profile.update", "company": "B"}, headers=MINIMAL)[0] == 200

    # Then the first succeeds from the whole account and stores the index; the second is scoped
    assert status == 200, answer
    assert [name for name, _ in first] == ["BatchGetItem", "Query", "TransactWriteItems"]
    assert sorted(written_keys(first[-1][1])) == ["D#INDEX", "D#ROOT"]
    assert [name for name, _ in second] == ["BatchGetItem", "TransactWriteItems"]


def test_keys_left_unprocessed_are_asked_again_then_503(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account of three workspaces, and DynamoDB leaving every key of a batch read
    # unprocessed (as when it throttles)
    from ciq.store import user_store

    three_workspaces(client)
    real_call = user_store.call
    tries: list[int] = []

    def throttled(operation: str, **kwargs: Any) -> Any:
        if operation != "batch_get_item":
            return real_call(operation, **kwargs)
        tries.append(1)
        return {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]}

    monkeypatch.setattr(user_store, "call", throttled)
    monkeypatch.setattr(user_store.time, "sleep", lambda _: None)
    before = client.data()

    # When a minimal edit is sent
    status, headers, answer = client.post({"type": "profile.update", "company": "X"}, headers=MINIMAL)

    # Then the keys were asked again a bounded number of times, the answer is 503 with Retry-After,
    # and nothing was stored
    assert (status, answer["error"]["code"]) == (503, "dependency_unavailable")
    assert headers["Retry-After"] == "1"
    assert len(tries) == user_store.UNPROCESSED_TRIES
    monkeypatch.setattr(user_store, "call", real_call)
    assert client.data() == before


def test_keys_left_unprocessed_once_are_read_on_the_next_try(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB leaving the workspace item of a batch read unprocessed once
    from ciq.store import user_store

    three_workspaces(client)
    real_call = user_store.call
    left: list[bool] = []

    def once(operation: str, **kwargs: Any) -> Any:
        answer = real_call(operation, **kwargs)
        request = next(iter(kwargs.get("RequestItems", {}).values()), {})
        if operation == "batch_get_item" and "D#ROOT" not in str(request) and not left:
            left.append(True)
            return {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]}
        return answer

    monkeypatch.setattr(user_store, "call", once)
    monkeypatch.setattr(user_store.time, "sleep", lambda _: None)

    # When a KB of ws-b is renamed with a minimal answer
    status, _, answer = client.post(
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-2-ws-b", "name": "Again"}, headers=MINIMAL
    )

    # Then the key was read on the next try and the write landed
    assert status == 200, answer
    assert left == [True]
    assert [kb["name"] for kb in answer["changed"]["knowledgeBases"]] == ["Again"]


def test_an_index_too_large_to_store_is_deleted_and_writes_read_whole(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account of three workspaces whose next index would not fit an item
    from ciq.errors import AggregateTooLarge
    from ciq.store import user_store

    three_workspaces(client)
    real_encode = user_store.encode_body

    def refusing(payload: bytes, what: str) -> Any:
        if what == "the id index":
            raise AggregateTooLarge("too large")
        return real_encode(payload, what)

    monkeypatch.setattr(user_store, "encode_body", refusing)

    # When a KB is created (an id comes: the index changes)
    status, _, answer = client.post(
        {"type": "knowledgeBase.create", "workspaceId": "ws-b", "id": "kb-big"}, headers=MINIMAL
    )

    # Then the write lands, the index item is deleted and the root names no index, so the next
    # minimal write reads the whole account
    assert status == 200, answer
    items = stored_items(client.user_id)
    from ciq.store.codec import decode_body

    assert "D#INDEX" not in items
    assert json.loads(decode_body(items["D#ROOT"])).get("index_version") is None
    with dynamodb_calls() as calls:
        assert client.post({"type": "profile.update", "company": "Y"}, headers=MINIMAL)[0] == 200
    assert [name for name, _ in calls] == ["BatchGetItem", "Query", "TransactWriteItems"]


# -- the same writes, minimal (scoped) and full (whole account), on two accounts ------------------
_LISTS = ("groups", "workspaces", "knowledgeBases", "agents", "connections")
_KINDS = (
    "kb.update",
    "kb.create",
    "kb.delete",
    "agent.create",
    "agent.update",
    "agent.delete",
    "connection.create",
    "connection.update",
    "connection.delete",
    "workspace.update",
    "workspace.update.agent",
    "connection.create.kb",
    "connection.update.agent",
    "batch.kb+agent",
    "workspace.create",
    "nodePositions.set",
    "group.create",
    "profile.update",
)
_STEP = st.tuples(st.sampled_from(_KINDS), st.integers(0, 30), st.integers(0, 30))


def _pick(data: dict[str, Any], name: str, index: int) -> str:
    entities = data[name]
    return str(entities[index % len(entities)]["id"]) if entities else "missing"


def _mutation(data: dict[str, Any], kind: str, i: int, j: int) -> dict[str, Any]:
    """The mutation `kind` on the entities at positions i and j of the data (any workspace)."""
    ws, kb, agent = _pick(data, "workspaces", i), _pick(data, "knowledgeBases", j), _pick(data, "agents", i)
    kb_i, connection = _pick(data, "knowledgeBases", i), _pick(data, "connections", i)
    draft = {"draft": COMPLETE_DRAFT} if j % 2 else {}
    agent_kb = {"knowledgeBaseId": kb} if j % 3 else {}
    named_agent = {"agentId": _pick(data, "agents", j)} if j % 2 else {}
    mutations = {
        "kb.update": {"type": "knowledgeBase.update", "knowledgeBaseId": kb_i, "name": f"KB {j}", **draft},
        "kb.create": {"type": "knowledgeBase.create", "workspaceId": ws, "id": f"kb-n{i}-{j}"},
        "kb.delete": {"type": "knowledgeBase.delete", "knowledgeBaseId": kb},
        "agent.create": {
            "type": "agent.create", "workspaceId": ws, "knowledgeBaseId": kb, "name": "A", "id": f"ag-{i}-{j}"
        },
        "agent.update": {
            "type": "agent.update", "agentId": agent, **agent_kb, "status": "active" if j % 2 else "inactive"
        },
        "agent.delete": {"type": "agent.delete", "agentId": agent},
        "connection.create": {
            "type": "connection.create", "workspaceId": ws, "family": "web-chat", "label": f"Chat {j}",
            "id": f"conn-{i}-{j}", **named_agent,
        },
        "connection.update": {
            "type": "connection.update", "connectionId": connection, "active": bool(j % 2), "label": f"L{j}"
        },
        "connection.delete": {"type": "connection.delete", "connectionId": connection},
        "workspace.update": {
            "type": "workspace.update", "workspaceId": ws, "defaultKbId": kb, "name": f"W{j}"
        },
        "workspace.update.agent": {"type": "workspace.update", "workspaceId": ws, "defaultAgentId": agent},
        "connection.create.kb": {
            "type": "connection.create", "workspaceId": ws, "family": "social-comments",
            "platform": "facebook", "knowledgeBaseId": kb, "id": f"conn-k{i}-{j}",
        },
        "connection.update.agent": {
            "type": "connection.update", "connectionId": connection, **named_agent, **agent_kb
        },
        "workspace.create": {"type": "workspace.create", "id": f"ws-n{i}-{j}", "name": "New"},
        "nodePositions.set": {
            "type": "nodePositions.set", "workspaceId": ws, "positions": {"n": {"x": i, "y": j}}
        },
        "group.create": {"type": "group.create", "name": f"G{i}", "id": f"grp-{i}-{j}"},
        "profile.update": {"type": "profile.update", "company": f"Co {i}"},
    }  # fmt: skip
    if kind == "batch.kb+agent":  # the second uses the id the first creates, in the same batch
        return {"mutations": [
            {"type": "knowledgeBase.create", "workspaceId": ws, "id": f"kb-b{i}-{j}"},
            {"type": "agent.create", "workspaceId": ws, "knowledgeBaseId": f"kb-b{i}-{j}", "name": "B"},
        ]}  # fmt: skip
    return mutations[kind]


_UNSHARED = ("createdAt", "updatedAt", "ownerId")


def _normalized(data: dict[str, Any]) -> Any:
    """The data with ids replaced by their list and position, and times and the user dropped: what
    two accounts given the same writes share."""
    names = {entity["id"]: f"{name}[{n}]" for name in _LISTS for n, entity in enumerate(data[name])}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {names.get(k, k): walk(v) for k, v in value.items() if k not in _UNSHARED}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    return walk({key: value for key, value in data.items() if key != "profile"})


def _outcome(status: int, body: Any) -> Any:
    if status == 200:
        return status
    details = [(d.get("path"), d.get("code")) for d in body["error"].get("details") or []]
    return status, body["error"]["code"], details


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(_STEP, st.tuples(_STEP, _STEP)), min_size=1, max_size=6))
def test_scoped_and_whole_account_writes_agree(user_data: ModuleType, steps: list[Any]) -> None:
    # Given two accounts of three workspaces, one written minimally (scoped), one in full
    scoped, whole = Client(user_data, create_user()), Client(user_data, create_user())
    three_workspaces(scoped)
    three_workspaces(whole)
    held, _ = scoped.data()
    for step in steps:
        # When the same mutation (or batch of two) is sent to both
        pairs = step if isinstance(step[0], tuple) else (step,)
        scoped_body = [_mutation(held, *pair) for pair in pairs]
        whole_body = [_mutation(whole.data()[0], *pair) for pair in pairs]
        scoped_answer = scoped.post(_body(scoped_body), headers=MINIMAL)
        whole_answer = whole.post(_body(whole_body))

        # Then both accept or refuse it alike, the minimal answer keeps its client in step, and
        # the two accounts hold the same data
        assert _outcome(scoped_answer[0], scoped_answer[2]) == _outcome(whole_answer[0], whole_answer[2])
        if scoped_answer[0] == 200:
            held = apply_delta(held, scoped_answer[2])
        current, _ = scoped.data()
        assert held == current
        assert _normalized(current) == _normalized(whole.data()[0])


def _body(mutations: list[dict[str, Any]]) -> Any:
    flat = [m for mutation in mutations for m in mutation.get("mutations", [mutation])]
    return flat[0] if len(flat) == 1 else {"mutations": flat}
