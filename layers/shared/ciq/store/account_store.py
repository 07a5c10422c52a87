"""Every item of one account, for its export and its erasure: the user's partition (`USER#<id>`:
root, workspaces, sessions, idempotency records) and its email's items (`EMAIL#<hash>`: the email
index and the verification failures; `RATE#<hash>`: the challenge window). This module lists and
deletes; the rules are in ciq.services.account."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ciq.store import auth_store, keys
from ciq.store.dynamo import call, query_all, table, transact, unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BATCH_DELETE_MAX = 25
UNPROCESSED_TRIES = 5


def user_items(user_id: str) -> list[dict[str, Any]]:
    """Every item of the user's partition (strongly consistent)."""
    return list(
        query_all(
            TableName=table(),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.user_pk(user_id)}},
            ConsistentRead=True,
        )
    )


def delete_keys(item_keys: list[dict[str, Any]]) -> None:
    """Deletes items by key, 25 per BatchWriteItem, retrying what DynamoDB left unprocessed."""
    for start in range(0, len(item_keys), BATCH_DELETE_MAX):
        requests: list[Any] = [
            {"DeleteRequest": {"Key": k}} for k in item_keys[start : start + BATCH_DELETE_MAX]
        ]
        for attempt in range(UNPROCESSED_TRIES):
            answer = call("batch_write_item", RequestItems={table(): requests})
            requests = (answer.get("UnprocessedItems") or {}).get(table(), [])
            if not requests:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise unavailable()


def erase(user_id: str, email_hash: str, challenge_id: str) -> None:
    """The last, atomic step of an erasure: the challenge that authorized it is spent (it must still
    exist, so one code erases once), the email index and the root are deleted."""
    root = {"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": keys.ROOT_SK}}
    items: list[TransactWriteItemTypeDef] = [
        auth_store.consume_challenge_item(challenge_id),
        {"Delete": {"TableName": table(), "Key": auth_store.email_index_key(email_hash)}},
        {"Delete": {"TableName": table(), "Key": root}},
    ]
    transact(items)
