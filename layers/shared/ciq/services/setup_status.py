"""/api/setup-status use cases: read the setup status (never writing), apply one lifecycle mutation
through the shared write flow (version, If-Match, Idempotency-Key, retries, invariants)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ciq.contracts.setup_status import parse_setup_mutation
from ciq.domain.onboarding import setup_status
from ciq.services import versions
from ciq.services.writes import peek_account, write

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.contracts.setup_status import SetupStatus
    from ciq.ports import UnitOfWork
    from ciq.services.writes import WriteRequest, Written


def held_version(uow: UnitOfWork, user_id: str, holds: Callable[[int], bool]) -> int | None:
    """GET never writes, so version 0 (nothing stored yet) is a version a client can hold."""
    return versions.held_version(uow, user_id, holds, first_read_stores=False)


def read(uow: UnitOfWork, user_id: str, session_id: str) -> tuple[SetupStatus, int]:
    """A new user's status is computed from defaults held in memory: GET never writes (CONTRACT §10
    "Reads"), so its version is the stored one (0 before the first write or user-data read)."""
    account, version = peek_account(uow, user_id)
    return setup_status(account, session_id), version


def mutate(
    uow: UnitOfWork, request: WriteRequest, payload: Any, render: Callable[[SetupStatus], str]
) -> Written[SetupStatus]:
    mutation = parse_setup_mutation(payload)
    session_id = request.session_id or ""
    return write(
        uow,
        request,
        lambda account, ctx: account.apply(ctx, mutation),
        lambda account, _version, _result: setup_status(account, session_id),
        render,
    )
