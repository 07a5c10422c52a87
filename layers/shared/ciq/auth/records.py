"""What the sign-in flow stores, as the services see it (the port in ciq.ports names them; the
DynamoDB adapter, ciq.store.auth_store, maps them to items)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class ChallengeRecord:
    challenge_id: str
    purpose: str
    email_hash: str
    code_digest: str
    expires_at: str
    attempts: int
    user_id: str | None = None  # sign-in: the account the code opens
    sign_up: dict[str, str] | None = None  # sign-up: the profile fields to create on success


class Attempt(Enum):
    COUNTED = "counted"
    REFUSED = "refused"  # the challenge already had `limit` attempts
    GONE = "gone"  # the challenge was used (or cleaned up) meanwhile


@dataclass(frozen=True)
class AttemptResult:
    outcome: Attempt
    attempts: int = 0  # attempts made so far, this one included (when counted)


@dataclass(frozen=True)
class RateWindow:
    stamps: list[int]
    version: int  # 0: no item yet


@dataclass(frozen=True)
class VerifyFailures:
    failures: int
    locked_until_ms: int  # 0: never locked
    version: int  # 0: no item yet


@dataclass(frozen=True)
class SessionRecord:
    user_id: str
    session_id: str
    created_at: str
    expires_at: str


@dataclass(frozen=True)
class IdempotencyEntry:
    """An Idempotency-Key's record as an account export lists it."""

    key_hash: str
    status: int
    version: int | None
    expires_at: int  # epoch seconds


@dataclass(frozen=True)
class AccountItems:
    """The user's own items an export lists besides the account: sessions and idempotency records,
    each in the store's order."""

    sessions: list[SessionRecord]
    idempotency_records: list[IdempotencyEntry]
