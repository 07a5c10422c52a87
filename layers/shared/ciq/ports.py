"""The ports of the services: what they need from storage, and nothing about how it is stored. The
services receive them as arguments; the function handlers (the edge) create the DynamoDB adapters
once per sandbox and pass them in; tests/fakes.py holds an in-memory one of each.

- `UnitOfWork`, the write flow's (cosmicpython's unit of work, in small): what a write and a read of
  an account need. Adapter: ciq.store.unit_of_work.DynamoUnitOfWork (one conditional transaction:
  the root on its version, the changed workspace items and the idempotency record).
- `AuthStore`, sign-in's and the account's own items: email index, challenges, rate windows,
  verification failures, sessions, and an account's export listing and erasure. Adapter:
  ciq.store.adapters.DynamoAuthStore.
- `LiveStore`, live updates': tickets and open connections. Adapter: ciq.store.adapters.DynamoLiveStore.

No service imports ciq.store (tests/unit/test_import_boundaries.py checks it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from ciq.auth.records import (
        AccountItems,
        AttemptResult,
        ChallengeRecord,
        RateWindow,
        SessionRecord,
        VerifyFailures,
    )
    from ciq.contracts.entities import Group, Profile
    from ciq.domain.account import Account
    from ciq.domain.reach import Reach


@dataclass
class Loaded:
    """An account as read and its version; `handle` is the adapter's own record of the read (what it
    needs to write back only what changed), opaque to the write flow."""

    account: Account
    version: int
    handle: object = None


@dataclass(frozen=True)
class AnswerRecord:
    """The first answer to an Idempotency-Key: kept with the change, replayed for the same request."""

    key_hash: str
    request_hash: str
    created: bool
    body: bytes | None  # None when it was too large to keep: a replay reads the data again
    version: int | None
    replaces: bool = False  # overwrite this request's own record (a write that completes it)


@dataclass
class Changes:
    """What a delta read needs: the account with only the workspaces written after a version (whole,
    with their children), the full workspace order and the version. `exact`: the stored data is
    complete and of the current schema (else only a full read, which hydrates, can answer)."""

    account: Account
    version: int
    workspace_order: list[str]
    exact: bool


@dataclass(frozen=True)
class Fragment:
    """One entity's answer text, compressed on its own (ciq.store.fragments): which list it goes
    to (`kind`), its creation time (the answer's order), where it sits in its workspace's `data`,
    and its raw length, Adler-32 and CRC-32."""

    kind: str
    created_at: str
    offset: int
    length: int
    raw_length: int
    adler: int
    crc: int


@dataclass(frozen=True)
class StoredWorkspace:
    """A workspace item's fragments, undecoded: the workspace object first, then its KBs, agents,
    connections and node positions, each in its stored order."""

    workspace_id: str
    data: bytes
    fragments: list[Fragment]


@dataclass(frozen=True)
class StoredAnswer:
    """The whole data at `version` as stored fragments plus the root fields: what a full read
    answers, already in its answer form (every item fresh, the account initialized and of the
    current schema), for the edge to splice without decoding any entity."""

    version: int
    schema_version: int
    profile: Profile
    groups: list[Group]
    workspaces: list[StoredWorkspace]  # in the account's workspace order


class UnitOfWork(Protocol):
    def load(self, user_id: str, reach: Reach | None = None) -> Loaded | None:
        """The account, or None when the user has no root item. With a `reach`, it may be a partial
        account (`account.outside` set): the root and the workspaces the reach names or holds."""

    def stored_version(self, user_id: str) -> int | None:
        """The version alone (one small read), or None when the user has no root item."""

    def changed_since(self, user_id: str, since: int) -> Changes | None:
        """What changed after `since` (a delta read), or None when the user has no root item."""

    def stored_answer(self, user_id: str) -> StoredAnswer | None:
        """The full read as stored fragments, or None when only a load can answer (no root item,
        data not yet hydrated, or an item not in the current answer form)."""

    def refresh(self, loaded: Loaded) -> None:
        """Rewrites the items of `loaded` stored in an older form, their data unchanged (no new
        version); best effort: a write that came in between leaves them for a later read."""

    def commit(
        self, loaded: Loaded, records: tuple[AnswerRecord, ...] = (), token: str | None = None
    ) -> int:
        """Stores `loaded.account` over the version read, with `records`, atomically; returns the new
        version. Raises VersionConflict (another write came first), ConditionFailed (another request
        recorded the same key first) or DependencyUnavailable (the outcome may be unknown: ask
        `committed(user_id, token)`)."""

    def committed(self, user_id: str, token: str) -> bool:
        """Whether the write that carried `token` is the one stored now."""

    def answer(self, user_id: str, key_hash: str) -> AnswerRecord | None:
        """The live record of an Idempotency-Key, if any."""


# -- sign-in and the account's own items -------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    """An account a verified sign-up creates with its session: the email's claim and the root."""

    email_hash: str
    account: Account


class AuthStore(Protocol):
    """Every read is strongly consistent. Conditional writes raise ConditionFailed (ciq.errors) when
    another request wrote first: read again and retry."""

    def user_id_for_email(self, email_hash: str) -> str | None:
        """The owner of an email, or None when no account has it."""

    def load_profile(self, user_id: str) -> Profile | None:
        """The profile alone (not the whole account), or None when the user has no account."""

    def put_challenge(self, challenge: ChallengeRecord, ttl: int) -> None:
        """Stores a new challenge; `ttl` (epoch seconds) only lets the store clean it up."""

    def get_challenge(self, challenge_id: str) -> ChallengeRecord | None: ...

    def challenge_exists(self, challenge_id: str) -> bool: ...

    def count_attempt(self, challenge_id: str, limit: int) -> AttemptResult:
        """Adds one attempt unless `limit` were made (atomic: parallel guesses never exceed it)."""

    def get_rate_window(self, email_hash: str) -> RateWindow: ...

    def put_rate_window(self, email_hash: str, stamps: list[int], read_version: int, ttl: int) -> None:
        """Replaces the window only if still at `read_version` (0: absent); ConditionFailed otherwise."""

    def count_address_request(self, source_hash: str, window_start: int, ttl: int) -> int:
        """Adds one request to the address's window; returns the count, this one included (atomic)."""

    def get_verify_failures(self, email_hash: str) -> VerifyFailures: ...

    def put_verify_failures(
        self, email_hash: str, failures: int, locked_until_ms: int, read_version: int, ttl: int
    ) -> None:
        """Replaces the count only if still at `read_version` (0: absent); ConditionFailed otherwise."""

    def clear_verify_failures(self, email_hash: str) -> None: ...

    def open_session(
        self, challenge_id: str, session: SessionRecord, ttl: int, new_account: NewAccount | None = None
    ) -> None:
        """Spends the challenge, stores the session and (for a sign-up) claims the email and creates
        the account's root, all or none. Raises VersionConflict when the challenge is gone or was
        written meanwhile (an attempt counted), EmailClaimed when `new_account`'s email was claimed
        meanwhile, ConditionFailed when anything else already exists."""

    def get_session(self, user_id: str, session_id: str) -> SessionRecord | None: ...

    def delete_session(self, user_id: str, session_id: str) -> None:
        """Idempotent: deleting a session that is gone is no error."""

    def account_items(self, user_id: str) -> AccountItems:
        """The user's sessions and idempotency records (one consistent read of the user's items)."""

    def erase_account(self, user_id: str, email_hash: str, challenge_id: str) -> None:
        """Deletes every item of the user and of the email, last and atomically the email's claim and
        the root with the challenge that authorized it (VersionConflict when that one is gone, so one
        code erases once)."""


# -- live updates ------------------------------------------------------------------------------------

Delivery = Literal["sent", "gone", "failed"]


@dataclass(frozen=True)
class Connection:
    connection_id: str
    expires_at: int  # epoch seconds


class LiveStore(Protocol):
    def put_ticket(self, ticket_hash: str, user_id: str, expires_at: int) -> None: ...

    def take_ticket(self, ticket_hash: str) -> tuple[str, int] | None:
        """Deletes the ticket and returns its (user id, expiry), or None when there is no such ticket
        (never issued, or already taken: one ticket opens one connection even when two race)."""

    def put_connection(self, user_id: str, connection_id: str, expires_at: int) -> None: ...

    def connection_owner(self, connection_id: str) -> str | None: ...

    def delete_connection(self, user_id: str, connection_id: str) -> None:
        """Idempotent: deleting what is gone is no error."""

    def connections(self, user_id: str) -> list[Connection]: ...
