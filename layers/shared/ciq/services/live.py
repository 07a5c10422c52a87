"""Live updates (docs/api/live-updates.md): a signed-in client gets a short-lived single-use ticket,
opens the WebSocket with it, and is sent `{"type":"changed","version":n}` whenever the account's
root item is written (never data: the client then reads `GET /api/user-data?since=`).

The same functions serve API Gateway (functions/live, functions/live_notify) and the local run; each
receives the store (ciq.ports.LiveStore). Which stream records are root writes is the store's to read
(ciq.store.live_store.root_changes)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from ciq.auth import clock
from ciq.errors import DependencyUnavailable, Unauthorized
from ciq.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ciq.ports import Delivery, LiveStore

TICKET_SECONDS = 60
# API Gateway closes a WebSocket connection after 2 hours; the item outlives it a little.
CONNECTION_SECONDS = 2 * 3600 + 300
TICKET_BYTES = 32
MAX_TICKET_LENGTH = 128


def issue_ticket(store: LiveStore, user_id: str) -> dict[str, str]:
    """`{ticket, expiresAt, url}`: the ticket opens one connection at `url` within 60 s."""
    url = get_settings().live_socket_url
    if not url:
        raise DependencyUnavailable("live updates are not configured on this stage")
    ticket = secrets.token_urlsafe(TICKET_BYTES)
    expires = clock.now() + timedelta(seconds=TICKET_SECONDS)
    store.put_ticket(_hash(ticket), user_id, clock.epoch_seconds(expires))
    return {"ticket": ticket, "expiresAt": clock.iso(expires), "url": url}


def open_connection(store: LiveStore, ticket: str | None, connection_id: str) -> str:
    """Takes the ticket (whatever happens next, it is spent) and records the connection under its
    user; returns the user id. Unauthorized for a missing, unknown, used or expired ticket."""
    if not ticket or len(ticket) > MAX_TICKET_LENGTH:
        raise Unauthorized("a live-updates ticket is required (POST /api/live/ticket)")
    taken = store.take_ticket(_hash(ticket))
    now = clock.epoch_seconds(clock.now())
    if taken is None or taken[1] <= now:
        raise Unauthorized("the live-updates ticket is unknown, used or expired; get a new one")
    user_id = taken[0]
    store.put_connection(user_id, connection_id, now + CONNECTION_SECONDS)
    return user_id


def close_connection(store: LiveStore, connection_id: str) -> None:
    user_id = store.connection_owner(connection_id)
    if user_id is not None:
        store.delete_connection(user_id, connection_id)


def notice(version: int) -> bytes:
    """What a connection is sent: the new version alone, no data and nothing personal."""
    return json.dumps({"type": "changed", "version": version}, separators=(",", ":")).encode()


@dataclass
class Deliveries:
    sent: int = 0
    gone: int = 0
    failed: int = 0


def notify(
    store: LiveStore, changes: Mapping[str, int], post: Callable[[str, bytes], Delivery]
) -> Deliveries:
    """Sends each changed account's new version to that user's open connections, and to no one
    else; a connection that is gone (or past its lifetime) is deleted."""
    counts = Deliveries()
    now = clock.epoch_seconds(clock.now())
    for user_id, version in changes.items():
        message = notice(version)
        for connection in store.connections(user_id):
            expired = connection.expires_at <= now
            delivery: Delivery = "gone" if expired else post(connection.connection_id, message)
            if delivery == "gone":
                store.delete_connection(user_id, connection.connection_id)
            setattr(counts, delivery, getattr(counts, delivery) + 1)
    return counts


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()
