"""/api/setup-status use cases: read the setup status (never writing), apply one lifecycle mutation
through the shared write flow (version, If-Match, Idempotency-Key, retries, invariants)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ciq.contracts.setup_status import parse_setup_mutation
from ciq.domain.onboarding import setup_status
from ciq.services import versions
from ciq.services.writes import IdempotencyRequest, Outcome, peek_account, run_write

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.domain.account import Account


def status_body(account: Account, session_id: str) -> str:
    return setup_status(account, session_id).model_dump_json()


def held_version(user_id: str, holds: Callable[[int], bool]) -> int | None:
    """GET never writes, so version 0 (nothing stored yet) is a version a client can hold."""
    return versions.held_version(user_id, holds, first_read_stores=False)


def read(user_id: str, session_id: str) -> tuple[str, int]:
    """A new user's status is computed from defaults held in memory: GET never writes (CONTRACT §10
    "Reads"), so its version is the stored one (0 before the first write or user-data read)."""
    account, version = peek_account(user_id)
    return status_body(account, session_id), version


def mutate(
    user_id: str, session_id: str, payload: Any, *, if_match: int | None, idem: IdempotencyRequest | None
) -> Outcome:
    mutation = parse_setup_mutation(payload)
    return run_write(
        user_id,
        lambda account, ctx: account.apply(ctx, mutation),
        lambda account, _version, _extra: status_body(account, session_id),
        if_match=if_match,
        idem=idem,
        session_id=session_id,
    )
