"""The persistence port of the write flow (cosmicpython's unit of work, in small): what a write and
a read of an account need from storage, and nothing about how it is stored. The DynamoDB adapter is
ciq.store.unit_of_work.DynamoUnitOfWork (one conditional transaction: the root on its version, the
changed workspace items and the idempotency record); tests/fakes.py holds an in-memory one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ciq.contracts.entities import Group, Profile
    from ciq.domain.account import Account


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
    and its raw length and Adler-32."""

    kind: str
    created_at: str
    offset: int
    length: int
    raw_length: int
    adler: int


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
    def load(self, user_id: str) -> Loaded | None:
        """The account, or None when the user has no root item."""

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
