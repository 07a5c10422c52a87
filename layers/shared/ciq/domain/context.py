"""What a rule needs from the outside world, passed in so that rules stay pure and testable."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ciq.domain.defaults import DEFAULT_AGENT_ID, DEFAULT_KB_ID, DEFAULT_WORKSPACE_ID
from ciq.errors import Detail, IdTaken

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.domain.account import Account

_ALPHABET = string.ascii_lowercase + string.digits
# The canonical ids (CONTRACT §1) a client may not propose: only the server places them.
RESERVED_IDS = frozenset({DEFAULT_WORKSPACE_ID, DEFAULT_KB_ID, DEFAULT_AGENT_ID})


def utc_now() -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-25T12:00:00.000Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def random_id(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(_ALPHABET) for _ in range(12))


@dataclass
class Context:
    user_id: str
    session_id: str | None = None  # the calling session, when a rule depends on it (Get Started)
    now: str = field(default_factory=utc_now)
    new_id: Callable[[str], str] = random_id

    def claim_id(self, account: Account, prefix: str, proposed: str | None, pointer: str = "/id") -> str:
        """A fresh id, or the client's proposal when it is unused in this account (409 otherwise)."""
        taken = account.all_ids()
        if proposed is not None:
            if proposed in RESERVED_IDS:
                # Kept free so that Get Started can always recreate its target in place (onboarding.py).
                message = f"id {proposed!r} is reserved for the account's default workspace, KB and agent"
                raise IdTaken(message, [Detail(pointer, "reserved", message)])
            if proposed in taken:
                message = f"id {proposed!r} is already used in this account"
                raise IdTaken(message, [Detail(pointer, "id_taken", message)])
            return proposed
        while True:
            candidate = self.new_id(prefix)
            if candidate not in taken:
                return candidate
