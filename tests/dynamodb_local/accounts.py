"""Accounts and raw-item helpers shared by the DynamoDB Local tests."""

from __future__ import annotations

import random
import string
import uuid
import zlib
from typing import TYPE_CHECKING, Any

from ciq.contracts.entities import CustomObjective, KbDraftState, Profile
from ciq.domain.account import Account
from ciq.domain.context import Context
from ciq.domain.defaults import add_knowledge_base, initialize
from ciq.store import keys
from ciq.store.records import workspace_records

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = "2026-11-25T12:00:00.000Z"


def new_user_id() -> str:
    return f"u-{uuid.uuid4().hex[:12]}"


def context(user_id: str) -> Context:
    return Context(user_id=user_id, now=NOW)


def defaults_for(user_id: str) -> Account:
    """A new account with its defaults (group, workspace ws-1, KB, agent), as the first read makes it."""
    account = Account(
        user_id=user_id,
        profile=Profile(user_id=user_id, email=f"{user_id}@example.com", first_name="Ada", created_at=NOW),
    )
    initialize(account, context(user_id))
    return account


def stored_items(client: DynamoDBClient, table: str, user_id: str) -> dict[str, dict[str, Any]]:
    """Every item under the user's partition, by sort key, read straight from the table."""
    items: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": keys.user_pk(user_id)}},
        "ConsistentRead": True,
    }
    while True:
        page = client.query(**kwargs)
        items.update({item["sk"]["S"]: item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def workspace_sks(items: dict[str, dict[str, Any]]) -> set[str]:
    return {sk for sk in items if sk.startswith(keys.WORKSPACE_SK_PREFIX)}


def compressed_size(account: Account, workspace_id: str) -> int:
    """The size the codec will store for one workspace (zlib level 6, as in ciq.store.codec)."""
    return len(zlib.compress(workspace_records(account)[workspace_id].to_json_bytes(), 6))


def grow_workspace(account: Account, workspace_id: str, *, compressed_at_least: int, seed: int = 7) -> None:
    """Adds knowledge bases full of random (hardly compressible) custom objectives to a workspace
    until its stored body is at least `compressed_at_least` bytes compressed."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + " "
    workspace = account.workspace(workspace_id)
    n = 0
    while compressed_size(account, workspace_id) < compressed_at_least:
        n += 1
        objectives = [
            CustomObjective(id=f"o{i}", title=f"Objective {i}", text="".join(rng.choices(alphabet, k=5000)))
            for i in range(10)
        ]
        add_knowledge_base(
            account, context(account.user_id), workspace, kb_id=f"kb-big-{n}", name=f"Big {n}",
            draft=KbDraftState(custom_objectives=objectives),
        )
