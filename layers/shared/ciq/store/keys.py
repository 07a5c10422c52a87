"""Key layout of the single table (see docs/architecture/persistence-model.md).

Everything a user owns sits under `USER#<userId>`; the user's data items have sort keys starting
with `D#` so that one Query reads exactly the data and nothing else."""

from __future__ import annotations

DATA_PREFIX = "D#"
ROOT_SK = "D#ROOT"
INDEX_SK = "D#INDEX"  # the account's id index (records.IdIndex): written when its ids change
WORKSPACE_SK_PREFIX = "D#WS#"
SESSION_SK_PREFIX = "S#"
IDEMPOTENCY_SK_PREFIX = "I#"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def workspace_sk(workspace_id: str) -> str:
    return WORKSPACE_SK_PREFIX + workspace_id


def session_sk(session_id: str) -> str:
    return SESSION_SK_PREFIX + session_id


def idempotency_sk(key_hash: str) -> str:
    return IDEMPOTENCY_SK_PREFIX + key_hash


def email_pk(email_hash: str) -> str:
    return f"EMAIL#{email_hash}"


def challenge_pk(challenge_id: str) -> str:
    return f"CHALLENGE#{challenge_id}"


def rate_pk(email_hash: str) -> str:
    return f"RATE#{email_hash}"


def address_pk(source_hash: str, window_start: int) -> str:
    return f"ADDR#{source_hash}#{window_start}"


# Live updates (docs/api/live-updates.md): a user's open WebSocket connections sit in the user's
# partition; a ticket and a connection's owner are found by the ticket's hash and the connection id.
LIVE_CONNECTION_SK_PREFIX = "L#"
LIVE_TICKET_SK = "LIVETICKET"
LIVE_OWNER_SK = "LIVECONN"


def live_connection_sk(connection_id: str) -> str:
    return LIVE_CONNECTION_SK_PREFIX + connection_id


def live_ticket_pk(ticket_hash: str) -> str:
    return f"LIVETICKET#{ticket_hash}"


def live_owner_pk(connection_id: str) -> str:
    return f"LIVECONN#{connection_id}"
