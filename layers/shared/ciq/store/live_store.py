"""Live-update items (docs/api/live-updates.md): single-use connection tickets, and each user's open
WebSocket connections.

- ticket `LIVETICKET#<sha256(ticket)>` / `LIVETICKET`: `userId`, `expiresAt`, `ttl`; taken by one
  conditional delete, so a ticket opens at most one connection even when two race;
- connection `USER#<userId>` / `L#<connectionId>`: `expiresAt`, `ttl` (one Query lists a user's);
- owner `LIVECONN#<connectionId>` / `LIVECONN`: `userId`, `ttl`, for `$disconnect`, which names
  only the connection.

`root_changes` reads the data table's stream records (the notifier's input) with the same keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ciq.ports import Connection
from ciq.store import keys
from ciq.store.dynamo import call, query_all, table, transact
from ciq.store.errors import ConditionFailed

# DynamoDB's TTL deletion lags; expiry is always checked by the code against `expiresAt`.
TTL_MARGIN_SECONDS = 3600


if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def put_ticket(ticket_hash: str, user_id: str, expires_at: int) -> None:
    call(
        "put_item",
        TableName=table(),
        Item={
            "pk": {"S": keys.live_ticket_pk(ticket_hash)},
            "sk": {"S": keys.LIVE_TICKET_SK},
            "userId": {"S": user_id},
            "expiresAt": {"N": str(expires_at)},
            "ttl": {"N": str(expires_at + TTL_MARGIN_SECONDS)},
        },
        ConditionExpression="attribute_not_exists(pk)",
    )


def take_ticket(ticket_hash: str) -> tuple[str, int] | None:
    """Deletes the ticket and returns its (user id, expiry), or None when there is no such ticket
    (never issued, or already taken)."""
    try:
        answer = call(
            "delete_item",
            TableName=table(),
            Key={"pk": {"S": keys.live_ticket_pk(ticket_hash)}, "sk": {"S": keys.LIVE_TICKET_SK}},
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_OLD",
        )
    except ConditionFailed:
        return None
    item = answer["Attributes"]
    return item["userId"]["S"], int(item["expiresAt"]["N"])


def put_connection(user_id: str, connection_id: str, expires_at: int) -> None:
    ttl = {"N": str(expires_at + TTL_MARGIN_SECONDS)}
    transact(
        [
            {
                "Put": {
                    "TableName": table(),
                    "Item": {
                        "pk": {"S": keys.user_pk(user_id)},
                        "sk": {"S": keys.live_connection_sk(connection_id)},
                        "expiresAt": {"N": str(expires_at)},
                        "ttl": ttl,
                    },
                }
            },
            {
                "Put": {
                    "TableName": table(),
                    "Item": {
                        "pk": {"S": keys.live_owner_pk(connection_id)},
                        "sk": {"S": keys.LIVE_OWNER_SK},
                        "userId": {"S": user_id},
                        "ttl": ttl,
                    },
                }
            },
        ]
    )


def connection_owner(connection_id: str) -> str | None:
    item = call(
        "get_item",
        TableName=table(),
        Key={"pk": {"S": keys.live_owner_pk(connection_id)}, "sk": {"S": keys.LIVE_OWNER_SK}},
        ConsistentRead=True,
    ).get("Item")
    return item["userId"]["S"] if item else None


def delete_connection(user_id: str, connection_id: str) -> None:
    """Both items of a connection (idempotent: deleting what is gone is no error)."""
    owned = {"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": keys.live_connection_sk(connection_id)}}
    transact(
        [
            {
                "Delete": {
                    "TableName": table(),
                    "Key": owned,
                }
            },
            {
                "Delete": {
                    "TableName": table(),
                    "Key": {"pk": {"S": keys.live_owner_pk(connection_id)}, "sk": {"S": keys.LIVE_OWNER_SK}},
                }
            },
        ]
    )


def connections(user_id: str) -> list[Connection]:
    """The user's connection items (one Query of the `L#` prefix of the user's partition)."""
    items = query_all(
        TableName=table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": keys.user_pk(user_id)},
            ":prefix": {"S": keys.LIVE_CONNECTION_SK_PREFIX},
        },
    )
    prefix = len(keys.LIVE_CONNECTION_SK_PREFIX)
    return [Connection(item["sk"]["S"][prefix:], int(item["expiresAt"]["N"])) for item in items]


def root_changes(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The new version of each account whose root item a batch of DynamoDB Stream records wrote
    (the highest, when one batch holds several writes of an account). Other items are ignored, so
    the function is correct even without the event source mapping's filter."""
    changes: dict[str, int] = {}
    for record in records:
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        change = record.get("dynamodb") or {}
        pk = ((change.get("Keys") or {}).get("pk") or {}).get("S", "")
        sk = ((change.get("Keys") or {}).get("sk") or {}).get("S", "")
        version = ((change.get("NewImage") or {}).get("version") or {}).get("N")
        user_prefix = keys.user_pk("")
        if sk != keys.ROOT_SK or not pk.startswith(user_prefix) or version is None:
            continue
        user_id = pk[len(user_prefix) :]
        changes[user_id] = max(int(version), changes.get(user_id, 0))
    return changes
