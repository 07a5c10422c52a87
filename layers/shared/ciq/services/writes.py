"""The one write flow of every mutating route (docs/architecture/write-flow.md):

load -> hydrate -> change the aggregate (its one consistency sequence) -> commit through the unit of
work (a conditional transaction with the idempotency record in it); on a lost race, reload and
re-apply the intent (jittered backoff) or refuse with 412 when the client pinned a version.

Every attempt carries a fresh commit token, stored on the root. A failure after the transaction may
have been sent (a lost reply surfacing as 503, or as a version conflict when botocore resent a
request that had committed) is an unknown outcome: the root's token is read before anything is
re-applied or refused, and when it is this attempt's, the write landed and is answered as such.

Services take and return domain values: a `WriteRequest` in, a `Written` answer out; ciq.web turns
them into status codes, headers and JSON. `render` is the edge's JSON form of an answer, used only
to record it with an Idempotency-Key (a replay answers those bytes)."""

from __future__ import annotations

import json
import random
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ciq import budget
from ciq.domain import aggregate
from ciq.domain.context import Context
from ciq.domain.reach import OutOfReach
from ciq.errors import (
    ConcurrentModification,
    ConditionFailed,
    DependencyUnavailable,
    IdempotencyKeyReused,
    Unauthorized,
    VersionConflict,
    VersionMismatch,
)
from ciq.ports import AnswerRecord
from ciq.services import subscribers
from ciq.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.domain.account import Account
    from ciq.domain.reach import Reach
    from ciq.ports import Loaded, UnitOfWork

A = TypeVar("A")
# Of the request's time budget (ciq.budget): what the unknown-outcome read after a commit is kept,
# and the least worth starting another attempt with (a load and a commit).
CHECK_SECONDS = 1.0
MIN_ATTEMPT_SECONDS = 0.6


@dataclass(frozen=True)
class IdempotencyRequest:
    """An Idempotency-Key as hashes: of the key in its scope, and of the request it names."""

    key_hash: str
    request_hash: str


@dataclass(frozen=True)
class WriteRequest:
    """Who writes, and on what terms: a pinned version (If-Match), an Idempotency-Key, whether the
    answer is a creation, the request whose recorded answer this write completes, and the part of
    the account the change and its answer need (None: all of it; ciq.domain.reach)."""

    user_id: str
    session_id: str | None = None
    if_match: int | None = None
    idempotency: IdempotencyRequest | None = None
    creates: bool = False
    completes: IdempotencyRequest | None = None
    reach: Reach | None = None


@dataclass(frozen=True)
class Written(Generic[A]):
    """A stored write's answer. `recorded`: the answer as kept with an Idempotency-Key (a replay has
    only that, and no `answer`)."""

    answer: A | None
    version: int
    created: bool = False
    recorded: bytes | None = None
    replayed: bool = False


def write(
    uow: UnitOfWork,
    request: WriteRequest,
    change: Callable[[Account, Context], Any],
    answer: Callable[[Account, int, Any], A],
    render: Callable[[A], str],
) -> Written[A]:
    """`change` changes the account through its aggregate methods and returns what `answer` needs."""
    if (replay := _replay(uow, request, answer)) is not None:
        return replay
    deadline, attempt = time.monotonic() + get_settings().write_retry_seconds, 0  # and the time budget
    reach = request.reach
    while True:
        loaded = _load(uow, request.user_id, reach)
        if request.if_match is not None and loaded.version != request.if_match:
            raise _mismatch(loaded.version)
        ctx = Context(request.user_id, request.session_id)
        try:
            aggregate.loaded(loaded.account, ctx)
            value = answer(loaded.account, loaded.version + 1, change(loaded.account, ctx))
        except OutOfReach:  # the part loaded was not enough: the same change on the whole account
            reach = None
            continue
        written, records = _recorded(request, value, loaded.version + 1, render)
        try:
            if _landed(uow, loaded, records, secrets.token_urlsafe(16)):
                subscribers.committed(request.user_id, request.session_id, loaded.account.events)
                return written
        except ConditionFailed:  # another request with the same key committed first: answer as it did
            if (replay := _replay(uow, request, answer)) is not None:
                return replay
            raise
        if request.if_match is not None:
            raise _mismatch(None)
        if time.monotonic() >= deadline:
            raise ConcurrentModification(
                "the account kept changing while this request was applied; retry shortly",
                headers={"Retry-After": "1"},
            )
        _pause(_backoff(attempt))
        attempt += 1


def _pause(seconds: float) -> None:
    """The backoff before another attempt, when the request's time budget still holds one; when it
    does not, 503: this attempt did not commit (its race was lost), so nothing was stored."""
    left = budget.remaining()
    if left is not None and left - seconds < CHECK_SECONDS + MIN_ATTEMPT_SECONDS:
        raise budget.spent()
    time.sleep(seconds)


def _landed(uow: UnitOfWork, loaded: Loaded, records: tuple[AnswerRecord, ...], token: str) -> bool:
    """True when this attempt is stored; False when another write came first."""
    user_id = loaded.account.user_id
    try:
        with budget.reserving(CHECK_SECONDS):  # kept for the read that resolves a lost reply
            uow.commit(loaded, records, token)
    except DependencyUnavailable:
        if not uow.committed(user_id, token):  # the write did not land: the 503 stands
            raise
    except VersionConflict:
        return uow.committed(user_id, token)  # True: a resent request met its own commit
    return True


def _recorded(
    request: WriteRequest, value: A, version: int, render: Callable[[A], str]
) -> tuple[Written[A], tuple[AnswerRecord, ...]]:
    keys = [k for k in (request.idempotency, request.completes) if k is not None]
    if not keys:
        return Written(value, version, request.creates), ()
    body = render(value).encode()
    records = tuple(
        AnswerRecord(k.key_hash, k.request_hash, request.creates, body, version, k is request.completes)
        for k in keys
    )
    return Written(value, version, request.creates, body), records


def read_account(uow: UnitOfWork, user_id: str) -> tuple[Account, int]:
    """The hydrated account; a new user's defaults (or any repair) are persisted once, racing
    first reads included: the loser of the race reads the winner's data."""
    while True:
        loaded = _load(uow, user_id)
        if not aggregate.loaded(loaded.account, Context(user_id)):
            uow.refresh(loaded)  # items stored in an older form: rewritten once, data unchanged
            return loaded.account, loaded.version
        try:
            return loaded.account, uow.commit(loaded)
        except VersionConflict:
            continue


def peek_account(uow: UnitOfWork, user_id: str) -> tuple[Account, int]:
    """The hydrated account and its stored version, hydration kept in memory: for reads that must
    never write (GET /api/setup-status computes a new user's status from defaults not yet stored)."""
    loaded = _load(uow, user_id)
    aggregate.loaded(loaded.account, Context(user_id))
    return loaded.account, loaded.version


def _load(uow: UnitOfWork, user_id: str, reach: Reach | None = None) -> Loaded:
    loaded = uow.load(user_id, reach)
    if loaded is None:
        # The authorizer let a session through for a user without data: the account is gone.
        raise Unauthorized("this session's account no longer exists")
    return loaded


def _replay(
    uow: UnitOfWork, request: WriteRequest, answer: Callable[[Account, int, Any], A]
) -> Written[A] | None:
    if request.idempotency is None:
        return None
    record = uow.answer(request.user_id, request.idempotency.key_hash)
    if record is None:
        return None
    if record.request_hash != request.idempotency.request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
    if record.body is not None:
        version = record.version if record.version is not None else json.loads(record.body).get("version", 0)
        return Written(None, int(version), record.created, record.body, replayed=True)
    account, version = read_account(uow, request.user_id)  # the first answer was too large to keep
    return Written(answer(account, version, None), version, record.created, replayed=True)


def _mismatch(current: int | None) -> VersionMismatch:
    detail = f" (current version: {current})" if current is not None else ""
    return VersionMismatch(f"the data changed since the version in If-Match{detail}; reload and retry")


def _backoff(attempt: int) -> float:
    """Full jitter, 20 ms doubling up to 320 ms: spreads concurrent writers of one account."""
    return random.uniform(0, min(0.32, 0.02 * 2**attempt))  # noqa: S311 - not security relevant
