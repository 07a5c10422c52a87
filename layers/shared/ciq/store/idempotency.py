"""Idempotency records (`USER#<uid>`/`I#<hash>`): written in the same transaction as the change they
answer for, read before a write to replay it. Expired records are ignored (TTL only cleans up)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ciq.errors import AggregateTooLarge
from ciq.store import keys
from ciq.store.codec import decode_body, encode_body
from ciq.store.dynamo import call, table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

RETENTION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    status: int
    body: bytes | None  # None when the first answer was too large to keep: replay re-reads the data
    expires_at: int
    # The version the first answer carried in its ETag (None in records written before it was kept;
    # their body holds it). Not every route puts the version in the body (setup-status does not).
    version: int | None = None


def get(user_id: str, key_hash: str, now: float | None = None) -> IdempotencyRecord | None:
    item = call(
        "get_item",
        TableName=table(),
        Key={"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": keys.idempotency_sk(key_hash)}},
        ConsistentRead=True,
    ).get("Item")
    if not item or int(item["expiresAt"]["N"]) <= (now or time.time()):
        return None
    return IdempotencyRecord(
        request_hash=item["requestHash"]["S"],
        status=int(item["status"]["N"]),
        body=decode_body(item) if ("j" in item or "z" in item) else None,
        expires_at=int(item["expiresAt"]["N"]),
        version=int(item["version"]["N"]) if "version" in item else None,
    )


def put_item(
    user_id: str,
    key_hash: str,
    request_hash: str,
    status: int,
    body: bytes,
    *,
    version: int,
    replace: bool = False,
) -> TransactWriteItemTypeDef:
    """The record of a first answer. `replace`: overwrite the request's own record with a later,
    final answer (a live-agents write that synced after its store write), unconditionally."""
    now = int(time.time())
    expires_at = now + RETENTION_SECONDS
    try:
        stored_body = encode_body(body, "the response")
    except AggregateTooLarge:
        stored_body = {}
    item: TransactWriteItemTypeDef = {
        "Put": {
            "TableName": table(),
            "Item": {
                "pk": {"S": keys.user_pk(user_id)},
                "sk": {"S": keys.idempotency_sk(key_hash)},
                "requestHash": {"S": request_hash},
                "status": {"N": str(status)},
                "version": {"N": str(version)},
                "expiresAt": {"N": str(expires_at)},
                "ttl": {"N": str(expires_at)},
                **stored_body,
            },
            # A live record means another request with this key won the race.
            "ConditionExpression": "attribute_not_exists(pk) OR expiresAt <= :now",
            "ExpressionAttributeValues": {":now": {"N": str(now)}},
        }
    }
    if replace:
        del item["Put"]["ConditionExpression"], item["Put"]["ExpressionAttributeValues"]
    return item
