"""The one write flow of every mutating route (docs/architecture/persistence-model.md):

load -> hydrate -> apply the change -> check invariants -> conditional transaction, with the
idempotency record in the same transaction; on a lost race, reload and re-apply the intent (jittered
backoff) or answer 412 when the client pinned a version with If-Match.

Every attempt carries a fresh commit token, stored on the root. A failure after the transaction may
have been sent (a lost reply surfacing as 503, or as a version conflict when botocore resent a
request that had committed) is an unknown outcome: the root's token is read before anything is
re-applied or refused, and when it is this attempt's, the write landed and is answered as such."""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ciq.domain import aggregate
from ciq.domain.context import Context
from ciq.errors import (
    ConcurrentModification,
    DependencyUnavailable,
    IdempotencyKeyReused,
    Unauthorized,
    VersionMismatch,
    invalid,
)
from ciq.services import subscribers
from ciq.settings import get_settings
from ciq.store import idempotency, user_store
from ciq.store.errors import ConditionFailed, VersionConflict

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.domain.account import Account

MAX_IDEMPOTENCY_KEY_LENGTH = 255
_VERSION = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Outcome:
    status: int
    body: str
    version: int
    replayed: bool = False


@dataclass(frozen=True)
class IdempotencyRequest:
    key_hash: str
    request_hash: str


def idempotency_request(key: str | None, method: str, path: str, payload: Any) -> IdempotencyRequest | None:
    """Keys are scoped per user (the record sits in the user's partition), method and path."""
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise invalid(
            "",
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters",
            "invalid_header",
        )
    scope = f"{method} {path} {key}".encode()
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return IdempotencyRequest(hashlib.sha256(scope).hexdigest(), hashlib.sha256(canonical).hexdigest())


def parse_if_match(value: str | None) -> int | None:
    """`"7"`, `W/"7"` or `7` pin version 7; `*` pins nothing. ASCII digits only (`str.isdigit`
    accepts "²", which int() refuses), and no more than a version can have."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not _VERSION.fullmatch(text):
        raise VersionMismatch('If-Match must be an ETag this API returned, such as "7"')
    return int(text)


def run_write(
    user_id: str,
    change: Callable[[Account, Context], Any],
    respond: Callable[[Account, int, Any], str],
    *,
    if_match: int | None = None,
    idem: IdempotencyRequest | None = None,
    status: int = 200,
    session_id: str | None = None,
    replaces: IdempotencyRequest | None = None,
) -> Outcome:
    """`change` changes the account through its aggregate methods (`apply`, `import_document`,
    `record`) and returns what `respond` needs beside it. `replaces`: the idempotency record of the
    request this write completes; its stored answer becomes this write's answer."""
    if idem is not None and (replay := _replay(user_id, idem, respond)) is not None:
        return replay
    deadline = time.monotonic() + get_settings().write_retry_seconds
    attempt = 0
    while True:
        snapshot = _load(user_id)
        if if_match is not None and snapshot.version != if_match:
            raise _mismatch(snapshot.version)
        ctx = Context(user_id, session_id)
        account = snapshot.account
        aggregate.loaded(account, ctx)
        extra = change(account, ctx)
        version = snapshot.version + 1
        body = respond(account, version, extra)
        items = [
            idempotency.put_item(
                user_id,
                req.key_hash,
                req.request_hash,
                status,
                body.encode(),
                version=version,
                replace=req is replaces,
            )
            for req in (idem, replaces)
            if req is not None
        ]
        outcome, token = Outcome(status, body, version), secrets.token_urlsafe(16)
        try:
            try:
                user_store.save(snapshot, account, items, commit_token=token)
            except DependencyUnavailable:
                if not user_store.committed(user_id, token):  # the reply was lost, not the write
                    raise
            subscribers.committed(user_id, session_id, account.events)
            return outcome
        except VersionConflict:
            if user_store.committed(user_id, token):  # a resent request met its own commit
                subscribers.committed(user_id, session_id, account.events)
                return outcome
            if if_match is not None:
                raise _mismatch(None) from None
            if time.monotonic() >= deadline:
                raise ConcurrentModification(
                    "the account kept changing while this request was applied; retry shortly",
                    headers={"Retry-After": "1"},
                ) from None
            time.sleep(_backoff(attempt))
            attempt += 1
        except ConditionFailed:
            # Another request with the same Idempotency-Key committed first: answer as it did.
            if idem is not None and (replay := _replay(user_id, idem, respond)) is not None:
                return replay
            raise


def read_account(user_id: str) -> tuple[Account, int]:
    """The hydrated account; a new user's defaults (or any repair) are persisted once, racing
    first reads included: the loser of the race reads the winner's data."""
    while True:
        snapshot = _load(user_id)
        if not aggregate.loaded(snapshot.account, Context(user_id)):
            return snapshot.account, snapshot.version
        try:
            return snapshot.account, user_store.save(snapshot, snapshot.account)
        except VersionConflict:
            continue


def peek_account(user_id: str) -> tuple[Account, int]:
    """The hydrated account and its stored version, hydration kept in memory: for reads that must
    never write (GET /api/setup-status computes a new user's status from defaults not yet stored)."""
    snapshot = _load(user_id)
    aggregate.loaded(snapshot.account, Context(user_id))
    return snapshot.account, snapshot.version


def _load(user_id: str) -> user_store.Snapshot:
    snapshot = user_store.load(user_id)
    if snapshot is None:
        # The authorizer let a session through for a user without data: the account is gone.
        raise Unauthorized("this session's account no longer exists")
    return snapshot


def _replay(
    user_id: str, idem: IdempotencyRequest, respond: Callable[[Account, int, Any], str]
) -> Outcome | None:
    record = idempotency.get(user_id, idem.key_hash)
    if record is None:
        return None
    if record.request_hash != idem.request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
    if record.body is not None:
        version = record.version if record.version is not None else json.loads(record.body).get("version", 0)
        return Outcome(record.status, record.body.decode(), int(version), replayed=True)
    account, version = read_account(user_id)
    return Outcome(record.status, respond(account, version, None), version, replayed=True)


def _mismatch(current: int | None) -> VersionMismatch:
    detail = f" (current version: {current})" if current is not None else ""
    return VersionMismatch(f"the data changed since the version in If-Match{detail}; reload and retry")


def _backoff(attempt: int) -> float:
    """Full jitter, 20 ms doubling up to 320 ms: spreads concurrent writers of one account."""
    return random.uniform(0, min(0.32, 0.02 * 2**attempt))  # noqa: S311 - not security relevant
