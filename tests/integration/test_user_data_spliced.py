"""GET /api/user-data answered from stored answer fragments (docs/architecture/persistence-model.md
"Answer fragments"): the spliced answer is the very answer of a full load, whatever the account;
large answers are `Content-Encoding: deflate` for a client that accepts it, gzip or plain otherwise;
items of the older format or of another answer form take the full load once and are rewritten."""

from __future__ import annotations

import base64
import gzip
import json
import random
import zlib
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE_NAME, LambdaContext, api_event, merged_headers
from tests.integration.conftest import COMPLETE_DRAFT, Client, stored_items

GZIP_THRESHOLD = 1024 * 1024


def slow_answer(user_id: str) -> bytes:
    """The answer of a full load (the path every GET took before fragments): load, hydrate,
    derive, render."""
    from ciq.domain import aggregate
    from ciq.domain.context import Context
    from ciq.services.user_data import DataAnswer
    from ciq.store import user_store
    from ciq.web import render

    snapshot = user_store.load(user_id)
    assert snapshot is not None
    assert not aggregate.loaded(snapshot.account, Context(user_id)), "nothing left to hydrate"
    return render.data_answer(DataAnswer(snapshot.account.to_user_data(), snapshot.version)).encode()


def spliced_answer(user_id: str) -> bytes:
    from ciq.store import user_store
    from ciq.web import spliced

    stored = user_store.load_answer(user_id)
    assert stored is not None, "every item should be spliceable"
    stream = spliced.splice(stored)
    text = zlib.decompress(stream.zlib())
    assert gzip.decompress(stream.gzip()) == text
    assert len(text) == stream.length
    return text


def _random_mutation(rng: random.Random, data: dict[str, Any], n: int) -> dict[str, Any]:
    """One plausible mutation naming ids of the current data (it may still be refused: fine)."""
    workspaces = [w["id"] for w in data["workspaces"]]
    ws = rng.choice(workspaces)
    kbs = [k["id"] for k in data["knowledgeBases"] if k["workspaceId"] == ws]
    agents = [a["id"] for a in data["agents"] if a["workspaceId"] == ws]
    connections = [c["id"] for c in data["connections"]]
    choices: list[dict[str, Any]] = [
        {"type": "workspace.create", "name": f"Espacio {n} ☕"},
        {"type": "knowledgeBase.create", "workspaceId": ws, "name": f"KB {n}", "draft": COMPLETE_DRAFT},
        {"type": "knowledgeBase.create", "workspaceId": ws},
        {"type": "agent.create", "workspaceId": ws, "knowledgeBaseId": rng.choice(kbs), "name": f"Agent {n}"},
        {"type": "connection.create", "workspaceId": ws, "family": "web-chat", "label": f"Site {n}"},
        {"type": "connection.create", "workspaceId": ws, "family": "social-comments", "platform": "facebook"},
        {"type": "nodePositions.set", "workspaceId": ws, "positions": {f"n{n}": {"x": n * 1.5, "y": -n}}},
        {"type": "workspace.reorder", "workspaceIds": rng.sample(workspaces, len(workspaces))},
        {"type": "workspace.duplicate", "workspaceId": ws},
        {"type": "knowledgeBase.update", "knowledgeBaseId": rng.choice(kbs), "name": f"Renamed «{n}»"},
        {"type": "agent.update", "agentId": rng.choice(agents), "name": f"A{n}"},
    ]
    if len(workspaces) > 1:
        choices.append({"type": "workspace.delete", "workspaceId": ws})
    if len(kbs) > 1:
        choices.append({"type": "knowledgeBase.delete", "knowledgeBaseId": kbs[-1]})
    if connections:
        choices.append({"type": "connection.delete", "connectionId": rng.choice(connections)})
    return rng.choice(choices)


@pytest.mark.parametrize("seed", range(6))
def test_the_spliced_answer_is_the_answer_of_a_full_load(client: Client, seed: int) -> None:
    # Given an account shaped by random mutations and batches (entities of several workspaces
    # created at interleaving and equal times, reorders, duplicates, deletes, node positions)
    rng = random.Random(seed)
    data, _ = client.data()
    for step in range(18):
        mutations = [_random_mutation(rng, data, step * 10 + i) for i in range(rng.randint(1, 3))]
        status, _, answer = client.post(mutations[0] if len(mutations) == 1 else {"mutations": mutations})
        if status == 200:
            data = answer["data"]
    # When the answer is spliced from the stored fragments
    spliced = spliced_answer(client.user_id)
    # Then it is byte for byte the answer of a full load
    assert spliced == slow_answer(client.user_id)
    # And the handler answers it (a small answer: plain JSON, as before)
    status, headers, body = client.get()
    assert status == 200
    assert "Content-Encoding" not in headers
    assert body == json.loads(spliced)


def _large_account(client: Client) -> None:
    """Over 1 MB of answer: KBs with long drafts, created four per request."""
    rng = random.Random(5)

    def draft() -> dict[str, Any]:
        text = "".join(rng.choice("abcdefghij ñ") for _ in range(4_000))
        return {name: {"presets": [], "customText": text} for name in ("greetings", "closing", "exceptions")}

    for n in range(24):
        batch = [
            {"type": "knowledgeBase.create", "workspaceId": "ws-1", "name": f"KB {n}-{i}", "draft": draft()}
            for i in range(4)
        ]
        status, _, answer = client.post({"mutations": batch})
        assert status == 200, answer


def _get(client: Client, **headers: str) -> dict[str, Any]:
    event = api_event("user-data-get", user_id=client.user_id, headers=headers or None)
    if not headers:  # no Accept-Encoding at all
        for section in ("headers", "multiValueHeaders"):
            (event.get(section) or {}).pop("Accept-Encoding", None)
    response: dict[str, Any] = client.module.lambda_handler(event, LambdaContext())
    return response


def test_a_large_answer_is_spliced_gzip_when_accepted_deflate_else_plain_otherwise(client: Client) -> None:
    # Given an account whose answer is over 1 MB
    client.data()
    _large_account(client)
    expected = slow_answer(client.user_id)
    assert len(expected) > GZIP_THRESHOLD
    version = json.loads(expected)["version"]

    # When it is read accepting what the sample event accepts (gzip, deflate, br)
    response = _get(client, **{"Accept-Encoding": "gzip, deflate, br"})
    # Then the answer is the gzip stream spliced from the fragments (CONTRACT §9), with its ETag
    headers = merged_headers(response)
    assert (response["statusCode"], headers["Content-Encoding"]) == (200, "gzip")
    assert "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(base64.b64decode(response["body"])) == expected
    assert headers["ETag"] == f'"{version}"'

    # When the client accepts only deflate (or refuses gzip) / Then the same text as a zlib stream
    for accept in ("deflate", "gzip;q=0, deflate"):
        response = _get(client, **{"Accept-Encoding": accept})
        assert merged_headers(response)["Content-Encoding"] == "deflate"
        assert zlib.decompress(base64.b64decode(response["body"])) == expected

    # When it accepts no coding / Then the plain JSON text
    response = _get(client)
    assert "Content-Encoding" not in merged_headers(response)
    assert response["body"].encode() == expected

    # And If-None-Match with the current version is still a 304, and a delta read still answers
    status, headers, _ = client.get(headers={"If-None-Match": f'"{version}"'})
    assert (status, headers["ETag"]) == (304, f'"{version}"')
    since = api_event("user-data-get", user_id=client.user_id, query={"since": str(version)})
    delta = json.loads(client.module.lambda_handler(since, LambdaContext())["body"])
    assert (delta["baseVersion"], delta["version"], delta["workspaces"]) == (version, version, [])


def _to_older_format(user_id: str) -> None:
    """Rewrites every workspace item as the store wrote it before fragments (`j`/`z`: the stored
    form without derived fields), each with its version."""
    from ciq.store.codec import encode_body
    from ciq.store.fragments import decode_workspace

    for sk, item in stored_items(user_id).items():
        if sk.startswith("D#WS#"):
            record = decode_workspace(item)[0]
            older = {k: item[k] for k in ("pk", "sk", "v")} | encode_body(record.to_json_bytes(), sk)
            boto3.client("dynamodb").put_item(TableName=TABLE_NAME, Item=older)


def _workspace_items(user_id: str) -> dict[str, dict[str, Any]]:
    return {sk: item for sk, item in stored_items(user_id).items() if sk.startswith("D#WS#")}


def test_items_of_the_older_format_are_read_and_rewritten_by_the_next_get(client: Client) -> None:
    # Given an account stored before fragments (two workspaces, with KBs, agents, node positions)
    client.ok({"type": "workspace.create", "name": "Second", "id": "ws-2"})
    client.ok({"type": "knowledgeBase.create", "workspaceId": "ws-2", "draft": COMPLETE_DRAFT})
    client.ok({"type": "nodePositions.set", "workspaceId": "ws-2", "positions": {"a": {"x": 1, "y": 2}}})
    expected = slow_answer(client.user_id)
    _to_older_format(client.user_id)
    versions = {sk: item["v"]["N"] for sk, item in _workspace_items(client.user_id).items()}
    from ciq.store import user_store

    assert user_store.load_answer(client.user_id) is None

    # When it is read
    status, headers, body = client.get()

    # Then the answer is the same as before, at the same version (nothing changed but the form)
    assert status == 200
    assert body == json.loads(expected)
    assert headers["ETag"] == f'"{body["version"]}"'
    # And every workspace item was rewritten as fragments, with its version
    items = _workspace_items(client.user_id)
    assert all("pz" in item and "z" not in item and "j" not in item for item in items.values())
    assert {sk: item["v"]["N"] for sk, item in items.items()} == versions
    # And the next read is spliced, to the same bytes
    assert spliced_answer(client.user_id) == expected


def test_a_write_rewrites_the_older_items_it_changes(client: Client) -> None:
    # Given an account stored before fragments with two workspaces
    client.ok({"type": "workspace.create", "name": "Second", "id": "ws-2"})
    _to_older_format(client.user_id)
    # When a mutation changes one workspace
    client.ok({"type": "workspace.update", "workspaceId": "ws-2", "name": "Renamed"})
    # Then that item is now fragments and the other is left as it was (a write touches only what changed)
    items = _workspace_items(client.user_id)
    assert "pz" in items["D#WS#ws-2"]
    assert "z" in items["D#WS#ws-1"] or "j" in items["D#WS#ws-1"]


def test_items_of_another_answer_form_take_the_full_load_and_are_rewritten(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account whose items were written in answer form 1
    from ciq.store import fragments, user_store

    client.ok({"type": "knowledgeBase.create", "workspaceId": "ws-1", "draft": COMPLETE_DRAFT})
    expected = slow_answer(client.user_id)
    # When the code's answer form is newer (derive or the entities changed)
    monkeypatch.setattr(fragments, "ANSWER_FORM", fragments.ANSWER_FORM + 1)
    # Then nothing is spliced from the old form
    assert user_store.load_answer(client.user_id) is None
    # And a GET answers from a full load, and rewrites the items in the new form
    status, _, body = client.get()
    assert (status, body) == (200, json.loads(expected))
    forms = {item["af"]["N"] for item in _workspace_items(client.user_id).values()}
    assert forms == {str(fragments.ANSWER_FORM)}
    assert spliced_answer(client.user_id) == expected


def test_a_torn_read_of_the_fragments_is_read_again(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an account, and a Query that first sees a workspace item of a write in progress
    from ciq.store import user_store

    client.ok({"type": "workspace.create", "name": "Second", "id": "ws-2"})
    expected = spliced_answer(client.user_id)
    real_query = user_store.query_all
    calls = []

    def query(**kwargs: Any) -> Any:
        items = list(real_query(**kwargs))
        calls.append(len(items))
        if len(calls) == 1:
            for item in items:
                if item["sk"]["S"] == "D#WS#ws-2":
                    item["v"] = {"N": str(int(item["v"]["N"]) + 1)}  # newer than the root says
        return iter(items)

    monkeypatch.setattr(user_store, "query_all", query)
    # When the fragments are read / Then the read is repeated and answers the consistent data
    assert spliced_answer(client.user_id) == expected
    assert len(calls) == 2


def test_a_write_between_the_read_and_the_rewrite_leaves_the_items_for_later(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account of the older format, and a write that lands while a GET rewrites it
    from ciq.store import user_store

    client.ok({"type": "workspace.create", "name": "Second", "id": "ws-2"})
    _to_older_format(client.user_id)
    real_refresh = user_store.refresh

    def refresh_after_a_write(snapshot: Any, account: Any) -> None:
        from ciq.domain import aggregate
        from ciq.domain.context import Context

        monkeypatch.setattr(user_store, "refresh", real_refresh)  # once
        other = user_store.load(client.user_id)  # another request's write, through the store
        assert other is not None
        aggregate.loaded(other.account, Context(client.user_id))
        other.account.workspace("ws-1").name = "Concurrent"
        user_store.save(other, other.account)
        real_refresh(snapshot, account)

    monkeypatch.setattr(user_store, "refresh", refresh_after_a_write)
    # When the GET answers
    status, _, body = client.get()
    # Then it answered what it read, the write is kept, and the rewrite did not overwrite it
    assert status == 200
    data, version = client.data()
    assert version == body["version"] + 1
    assert next(w for w in data["workspaces"] if w["id"] == "ws-1")["name"] == "Concurrent"
    # And the next GET rewrites what is still of the older form
    client.get()
    assert all("pz" in item for item in _workspace_items(client.user_id).values())
    assert spliced_answer(client.user_id) == slow_answer(client.user_id)
