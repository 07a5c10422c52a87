"""Live updates (docs/api/live-updates.md): a signed-in client gets a short-lived single-use ticket,
opens the WebSocket with it, and is sent `{"type":"changed","version":n}` whenever the account's
root item is written (never data: the client then reads `GET /api/user-data?since=`).

The same functions serve API Gateway (functions/live, functions/live_notify) and the local run."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ciq.auth import clock
from ciq.errors import DependencyUnavailable, Unauthorized
from ciq.settings import get_settings
from ciq.store import keys, live_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from ciq.store.socket_api import Delivery

TICKET_SECONDS = 60
# API Gateway closes a WebSocket connection after 2 hours; the item outlives it a little.
CONNECTION_SECONDS = 2 * 3600 + 300
TICKET_BYTES = 32
MAX_TICKET_LENGTH = 128


def issue_ticket(user_id: str) -> dict[str, str]:
    """`{ticket, expiresAt, url}`: the ticket opens one connection at `url` within 60 s."""
    url = get_settings().live_socket_url
    if not url:
        raise DependencyUnavailable("live updates are not configured on this stage")
    ticket = secrets.token_urlsafe(TICKET_BYTES)
    expires = clock.now() + timedelta(seconds=TICKET_SECONDS)
    live_store.put_ticket(_hash(ticket), user_id, clock.epoch_seconds(expires))
    return {"ticket": ticket, "expiresAt": clock.iso(expires), "url": url}


def open_connection(ticket: str | None, connection_id: str) -> str:
    """Takes the ticket (whatever happens next, it is spent) and records the connection under its
    user; returns the user id. Unauthorized for a missing, unknown, used or expired ticket."""
    if not ticket or len(ticket) > MAX_TICKET_LENGTH:
        raise Unauthorized("a live-updates ticket is required (POST /api/live/ticket)")
    taken = live_store.take_ticket(_hash(ticket))
    now = clock.epoch_seconds(clock.now())
    if taken is None or taken[1] <= now:
        raise Unauthorized("the live-updates ticket is unknown, used or expired; get a new one")
    user_id = taken[0]
    live_store.put_connection(user_id, connection_id, now + CONNECTION_SECONDS)
    return user_id


def close_connection(connection_id: str) -> None:
    user_id = live_store.connection_owner(connection_id)
    if user_id is not None:
        live_store.delete_connection(user_id, connection_id)


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


def notice(version: int) -> bytes:
    """What a connection is sent: the new version alone, no data and nothing personal."""
    return json.dumps({"type": "changed", "version": version}, separators=(",", ":")).encode()


@dataclass
class Deliveries:
    sent: int = 0
    gone: int = 0
    failed: int = 0


def notify(changes: Mapping[str, int], post: Callable[[str, bytes], Delivery]) -> Deliveries:
    """Sends each changed account's new version to that user's open connections, and to no one
    else; a connection that is gone (or past its lifetime) is deleted."""
    counts = Deliveries()
    now = clock.epoch_seconds(clock.now())
    for user_id, version in changes.items():
        message = notice(version)
        for connection in live_store.connections(user_id):
            expired = connection.expires_at <= now
            delivery: Delivery = "gone" if expired else post(connection.connection_id, message)
            if delivery == "gone":
                live_store.delete_connection(user_id, connection.connection_id)
            setattr(counts, delivery, getattr(counts, delivery) + 1)
    return counts


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()
