"""GET /api/user-data of a large-ish account on DynamoDB Local: written as answer fragments by real
transactions, read back by a paged Query, spliced into a gzip answer that is the very answer of
a full load; an account of the older item format is rewritten in place by its first GET."""

from __future__ import annotations

import base64
import gzip
import json
import random
import zlib
from typing import TYPE_CHECKING, Any

import pytest

from bench.accounts import full_draft
from ciq.domain import aggregate, defaults
from ciq.domain.derive import derive
from ciq.services.user_data import DataAnswer
from ciq.store import user_store
from ciq.store.codec import encode_body
from ciq.store.fragments import decode_workspace
from ciq.web import render
from tests.conftest import LambdaContext, api_event, load_function, merged_headers
from tests.dynamodb_local.accounts import context, stored_items
from tests.dynamodb_local.test_user_data_concurrency import verified_user

if TYPE_CHECKING:
    from tests.dynamodb_local.conftest import LocalTable

pytestmark = pytest.mark.dynamodb_local
WORKSPACES = 40
KBS_PER_WORKSPACE = 5


def build(user_id: str) -> None:
    """40 workspaces of 5 KBs with full drafts (about 3 MB of answer, several Query pages),
    written in transactions of 20 workspaces."""
    rng = random.Random(11)
    for start in range(0, WORKSPACES, 20):
        snapshot = user_store.load(user_id)
        assert snapshot is not None
        account, ctx = snapshot.account, context(user_id)
        aggregate.loaded(account, ctx)
        for index in range(start, start + 20):
            workspace = (
                account.workspace("ws-1")
                if index == 0
                else defaults.add_workspace(
                    account, ctx, workspace_id=f"ws-{index + 1}", name=f"Área {index + 1}", group_id="default"
                )
            )
            for n in range(2, KBS_PER_WORKSPACE + 1):
                defaults.add_knowledge_base(
                    account,
                    ctx,
                    workspace,
                    kb_id=f"kb-{index + 1}-{n}",
                    name=f"KB {n}",
                    draft=full_draft(rng),
                )
        account.sort_by_creation()
        derive(account)
        user_store.save(snapshot, account)


def full_load_answer(user_id: str) -> bytes:
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    assert not aggregate.loaded(snapshot.account, context(user_id))
    return render.data_answer(DataAnswer(snapshot.account.to_user_data(), snapshot.version)).encode()


def get(app: Any, user_id: str, accept: str) -> dict[str, Any]:
    answer: dict[str, Any] = app.lambda_handler(
        api_event("user-data-get", user_id=user_id, headers={"Accept-Encoding": accept}), LambdaContext()
    )
    return answer


def test_a_large_account_round_trips_spliced_and_deflated(local_table: LocalTable) -> None:
    # Given a large-ish account written through the store on DynamoDB Local
    app = load_function("user_data")
    user_id = verified_user()
    get(app, user_id, "gzip")  # the first read stores the defaults
    build(user_id)
    expected = full_load_answer(user_id)
    assert len(expected) > 1024 * 1024

    # When the app reads it accepting gzip and deflate
    response = get(app, user_id, "gzip, deflate, br")

    # Then the answer is spliced from the fragments: gzip, and exactly the full load's answer
    headers = merged_headers(response)
    assert (response["statusCode"], headers["Content-Encoding"]) == (200, "gzip")
    body = gzip.decompress(base64.b64decode(response["body"]))
    assert body == expected
    data = json.loads(body)["data"]
    assert len(data["knowledgeBases"]) == WORKSPACES * KBS_PER_WORKSPACE
    assert headers["ETag"] == f'"{json.loads(body)["version"]}"'


def test_an_account_of_the_older_format_is_rewritten_in_place_by_its_first_get(
    local_table: LocalTable,
) -> None:
    # Given an account whose workspace items are all of the format before fragments
    app = load_function("user_data")
    user_id = verified_user()
    get(app, user_id, "gzip")
    build(user_id)
    expected = full_load_answer(user_id)
    client, table = local_table.client, local_table.name
    for sk, item in stored_items(client, table, user_id).items():
        if sk.startswith("D#WS#"):
            older = {k: item[k] for k in ("pk", "sk", "v")} | encode_body(
                decode_workspace(item)[0].to_json_bytes(), sk
            )
            client.put_item(TableName=table, Item=older)  # type: ignore[arg-type]
    assert user_store.load_answer(user_id) is None

    # When it is read twice
    first = get(app, user_id, "deflate")
    second = get(app, user_id, "deflate")

    # Then both answer the same data at the same version: the first from a full load (gzip is not
    # accepted, so plain), having rewritten the items by conditioned transactions; the second spliced
    assert "Content-Encoding" not in merged_headers(first)
    assert first["body"].encode() == expected
    assert merged_headers(second)["Content-Encoding"] == "deflate"
    assert zlib.decompress(base64.b64decode(second["body"])) == expected
    assert all(
        "pz" in item for sk, item in stored_items(client, table, user_id).items() if sk.startswith("D#WS#")
    )
