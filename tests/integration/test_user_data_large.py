"""Large accounts (CONTRACT §7 "Large accounts work", §9 "Limits"): 200 workspaces with 2,000 KBs
holding full drafts are stored and read back (gzip over 1 MB, or deflate for a client that accepts
only deflate); a single workspace that cannot fit in a DynamoDB item is refused with 413
aggregate_too_large and nothing is written."""

from __future__ import annotations

import base64
import gzip
import json
import random
import string
import zlib
from typing import Any

from bench.accounts import full_draft
from tests.conftest import LambdaContext, api_event, merged_headers
from tests.integration.conftest import Client, kb

WORKSPACES = 200
KBS_PER_WORKSPACE = 10
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def build_large_account(user_id: str) -> None:
    """Builds the account through the domain and the store (not 2,000 HTTP calls), in transactions
    of at most 50 workspaces (DynamoDB's limit is 100 items per transaction)."""
    from ciq.domain import defaults
    from ciq.domain.context import Context
    from ciq.domain.derive import derive
    from ciq.domain.invariants import violations
    from ciq.store import user_store

    rng = random.Random(7)
    for chunk_start in range(0, WORKSPACES, 50):
        snapshot = user_store.load(user_id)
        assert snapshot is not None
        account, ctx = snapshot.account, Context(user_id)
        for index in range(chunk_start, chunk_start + 50):
            if index == 0:
                workspace = account.workspace("ws-1")
            else:
                workspace = defaults.add_workspace(
                    account,
                    ctx,
                    workspace_id=f"ws-{index + 1}",
                    name=f"Workspace {index + 1}",
                    group_id="default",
                )
            account.knowledge_base(workspace.default_kb_id).draft = full_draft(rng)
            for n in range(2, KBS_PER_WORKSPACE + 1):
                defaults.add_knowledge_base(
                    account,
                    ctx,
                    workspace,
                    kb_id=f"kb-{index + 1}-{n}",
                    name=f"KB {n}",
                    draft=full_draft(rng),
                )
        derive(account)
        assert violations(account) == []
        user_store.save(snapshot, account)


def test_200_workspaces_with_2000_full_kbs_are_stored_and_read_back(client: Client) -> None:
    # Given a user with 200 workspaces of 10 KBs each, every draft filled in
    client.data()
    build_large_account(client.user_id)

    # When the app reads the account, accepting gzip and deflate
    response = client.module.lambda_handler(
        api_event("user-data-get", user_id=client.user_id, headers={"Accept-Encoding": "gzip, deflate, br"}),
        LambdaContext(),
    )

    # Then the answer was gzip-encoded (over 1 MB: spliced from the stored fragments) and fits
    # Lambda's 6 MB response limit
    assert response["statusCode"] == 200
    headers = merged_headers(response)
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert response["isBase64Encoded"] is True
    assert len(response["body"]) < LAMBDA_RESPONSE_LIMIT
    text = gzip.decompress(base64.b64decode(response["body"]))
    assert len(text) > 1024 * 1024
    # And a client accepting only deflate gets the same text as a zlib stream
    deflate_only = api_event("user-data-get", user_id=client.user_id, headers={"Accept-Encoding": "deflate"})
    deflated = client.module.lambda_handler(deflate_only, LambdaContext())
    assert merged_headers(deflated)["Content-Encoding"] == "deflate"
    assert len(deflated["body"]) < LAMBDA_RESPONSE_LIMIT
    assert zlib.decompress(base64.b64decode(deflated["body"])) == text
    # and everything is there and complete
    body = json.loads(text)
    data = body["data"]
    assert len(data["workspaces"]) == WORKSPACES
    assert len(data["knowledgeBases"]) == WORKSPACES * KBS_PER_WORKSPACE
    assert all(w["numberOfKnowledgeBases"] == KBS_PER_WORKSPACE for w in data["workspaces"])
    assert {k["status"] for k in data["knowledgeBases"]} == {"complete"}
    assert [w["id"] for w in data["workspaces"]][:3] == ["ws-1", "ws-2", "ws-3"]
    assert headers["ETag"] == f'"{body["version"]}"'

    # And a mutation on one workspace of the large account works and keeps the rest
    status, _, written = client.post(
        {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-150-3", "name": "Renamed"},
        headers={"Accept-Encoding": "gzip"},
    )
    assert status == 200, written
    assert kb(written["data"], "kb-150-3")["name"] == "Renamed"
    assert written["version"] == body["version"] + 1
    again, version = client.data()
    assert version == written["version"]
    assert len(again["knowledgeBases"]) == WORKSPACES * KBS_PER_WORKSPACE

    # And with an Idempotency-Key (an answer too large to keep as a record): stored, and replayed
    mutation = {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-150-4", "name": "Keyed"}
    keyed = {"Accept-Encoding": "gzip", "Idempotency-Key": "large-keyed-1"}
    status, _, first = client.post(mutation, headers=keyed)
    assert status == 200, first
    assert first["version"] == version + 1
    status, headers, replay = client.post(mutation, headers=keyed)
    assert (status, headers.get("Idempotent-Replayed"), replay["version"]) == (200, "true", version + 1)


def incompressible(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=length))


def huge_kb(rng: random.Random, kb_id: str) -> dict[str, Any]:
    """A KB create of about 225 KB of text that compresses badly (under the 256 KB body limit)."""
    draft: dict[str, Any] = {
        key: {"presets": [], "customText": incompressible(rng, 5000)}
        for key in (
            "brandPersonality",
            "primaryObjective",
            "secondaryObjective",
            "greetings",
            "closing",
            "emojis",
            "hashtags",
            "exceptions",
            "clarifications",
            "defaultCta",
        )
    }
    draft["customObjectives"] = [
        {"id": f"o{i}", "title": "t", "text": incompressible(rng, 5000)} for i in range(36)
    ]
    return {"type": "knowledgeBase.create", "id": kb_id, "workspaceId": "ws-1", "draft": draft}


def test_a_workspace_too_big_to_store_is_413_and_nothing_is_written(client: Client) -> None:
    # Given ws-1 already holding two very large KBs (each request within the body limit)
    rng = random.Random(11)
    client.data()
    client.ok(huge_kb(rng, "kb-big-1"))
    client.ok(huge_kb(rng, "kb-big-2"))

    # When a third one would push the workspace past what one DynamoDB item can hold
    error = client.fails(huge_kb(rng, "kb-big-3"), 413, "aggregate_too_large")

    # Then it is refused with a message naming the workspace (`fails` checked nothing was written)
    assert "ws-1" in error["message"]

    # And the account still takes writes elsewhere
    body = client.ok({"type": "workspace.create", "name": "Elsewhere"})
    assert [k["id"] for k in body["data"]["knowledgeBases"]][:3] == ["kb-default-1", "kb-big-1", "kb-big-2"]


def test_an_import_too_big_for_one_transaction_is_refused_whole(client: Client) -> None:
    # Given a fresh user and a local document of 120 workspaces (more items than one DynamoDB
    # transaction can write atomically)
    client.data()
    document = {"data": {"workspaces": [{"id": f"ws-{i}", "name": f"W{i}"} for i in range(120)]}}

    # When it is imported
    status, _, body = client.put(document)

    # Then it is refused with a clear error and nothing of it was written (never half-applied)
    assert (status, body["error"]["code"]) == (413, "payload_too_large"), body
    assert "items" in body["error"]["message"]
    data, version = client.data()
    assert version == 1
    assert [w["id"] for w in data["workspaces"]] == ["ws-1"]
