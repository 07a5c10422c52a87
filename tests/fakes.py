"""In-memory adapters of the ports in ciq.ports, for service tests that run in milliseconds.

- FakeUnitOfWork: accounts and idempotency records in dicts, copied on every load and commit so that
  a change is seen only once committed, as with the store. Faults are scripted per commit.
- FakeAuthStore: the sign-in items (email claims, challenges, windows, failures, sessions) in dicts,
  with the adapter's conditions (versions, "already used", "already claimed"); the accounts it
  creates and erases live in a FakeUnitOfWork, as the root does in the table.
- FakeLiveStore: tickets and connections in dicts."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ciq.auth.records import (
    AccountItems,
    Attempt,
    AttemptResult,
    ChallengeRecord,
    IdempotencyEntry,
    RateWindow,
    SessionRecord,
    VerifyFailures,
)
from ciq.contracts.entities import Profile
from ciq.domain.account import Account
from ciq.domain.reach import Outside
from ciq.errors import ConditionFailed, DependencyUnavailable, EmailClaimed, VersionConflict
from ciq.ports import AnswerRecord, Connection, Loaded

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.domain.reach import Reach
    from ciq.ports import NewAccount


CREATED_AT = "2026-01-01T00:00:00.000Z"


@dataclass
class _Stored:
    account: Account
    version: int
    token: str | None = None


@dataclass
class FakeUnitOfWork:
    accounts: dict[str, _Stored] = field(default_factory=dict)
    records: dict[tuple[str, str], AnswerRecord] = field(default_factory=dict)
    commits: int = 0
    # Run before each commit (in order, one per commit): may change the store or raise.
    before_commit: list[Callable[[FakeUnitOfWork], None]] = field(default_factory=list)
    lose_reply_of_next_commit: bool = False

    def add_user(self, user_id: str) -> None:
        profile = Profile(user_id=user_id, email=f"{user_id}@example.com", created_at=CREATED_AT)
        self.accounts[user_id] = _Stored(Account(user_id=user_id, profile=profile), 0)

    def load(self, user_id: str, reach: Reach | None = None) -> Loaded | None:
        stored = self.accounts.get(user_id)
        if stored is None:
            return None
        account = copy.deepcopy(stored.account)
        if reach is not None and account.initialized:
            _narrow(account, reach)
        return Loaded(account, stored.version)

    def stored_version(self, user_id: str) -> int | None:
        stored = self.accounts.get(user_id)
        return None if stored is None else stored.version

    def stored_answer(self, user_id: str) -> None:
        """Nothing is stored encoded here: every full read loads the account."""
        return None

    def refresh(self, loaded: Loaded) -> None:
        """Nothing is stored in an older form here."""

    def commit(self, loaded: Loaded, records: tuple[AnswerRecord, ...] = (), token: str | None = None) -> int:
        if self.before_commit:
            self.before_commit.pop(0)(self)
        user_id = loaded.account.user_id
        if self.accounts[user_id].version != loaded.version:
            raise VersionConflict
        for record in records:
            if (user_id, record.key_hash) in self.records and not record.replaces:
                raise ConditionFailed(1)
        for record in records:
            self.records[(user_id, record.key_hash)] = record
        account = _merged(self.accounts[user_id].account, copy.deepcopy(loaded.account))
        account.events = []
        self.accounts[user_id] = _Stored(account, loaded.version + 1, token)
        self.commits += 1
        if self.lose_reply_of_next_commit:
            self.lose_reply_of_next_commit = False
            raise DependencyUnavailable("the reply was lost")
        return loaded.version + 1

    def committed(self, user_id: str, token: str) -> bool:
        return self.accounts[user_id].token == token

    def answer(self, user_id: str, key_hash: str) -> AnswerRecord | None:
        return self.records.get((user_id, key_hash))

    def bump(self, user_id: str) -> None:
        """Another writer commits a version in between (a lost race)."""
        stored = self.accounts[user_id]
        self.accounts[user_id] = _Stored(stored.account, stored.version + 1, "someone-else")


def _narrow(account: Account, reach: Reach) -> None:
    """`account` cut down to the workspaces `reach` names or holds, as the store loads it."""
    entities = [*account.knowledge_bases, *account.agents, *account.connections]
    homes = {entity.id: entity.workspace_id for entity in entities}
    named = reach.workspaces | {homes[e] for e in reach.entities if e in homes}
    others = [w.id for w in account.workspaces if w.id not in named]
    account.outside = Outside(
        workspace_order=tuple(w.id for w in account.workspaces),
        workspace_ids=frozenset(others),
        entity_ids=frozenset(e.id for e in entities if e.workspace_id in others),
        newest_created_at=max((e.created_at for e in entities), default=""),
    )
    account.workspaces = [w for w in account.workspaces if w.id in named]
    account.knowledge_bases = [kb for kb in account.knowledge_bases if kb.workspace_id in named]
    account.agents = [a for a in account.agents if a.workspace_id in named]
    account.connections = [c for c in account.connections if c.workspace_id in named]
    account.node_positions = {w: p for w, p in account.node_positions.items() if w in named}


def _merged(stored: Account, changed: Account) -> Account:
    """The stored account with a partial account's workspaces replaced by their changed form."""
    if changed.outside is None:
        return changed
    others = changed.outside.workspace_ids
    order = changed.outside.workspace_order
    loaded = {w.id: w for w in changed.workspaces}
    changed.workspaces = [loaded.get(w.id, w) for w in stored.workspaces]
    assert [w.id for w in changed.workspaces] == list(order)
    for name in ("knowledge_bases", "agents", "connections"):
        kept = [e for e in getattr(stored, name) if e.workspace_id in others]
        setattr(changed, name, kept + getattr(changed, name))
    changed.node_positions = {
        **{w: p for w, p in stored.node_positions.items() if w in others},
        **changed.node_positions,
    }
    changed.outside = None
    changed.sort_by_creation()
    return changed


@dataclass
class FakeAuthStore:
    accounts: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    emails: dict[str, str] = field(default_factory=dict)  # email hash -> user id
    challenges: dict[str, ChallengeRecord] = field(default_factory=dict)
    rate_windows: dict[str, RateWindow] = field(default_factory=dict)
    address_counts: dict[tuple[str, int], int] = field(default_factory=dict)
    failures: dict[str, VerifyFailures] = field(default_factory=dict)
    sessions: dict[tuple[str, str], SessionRecord] = field(default_factory=dict)
    idempotency: dict[str, list[IdempotencyEntry]] = field(default_factory=dict)  # user id -> records

    def user_id_for_email(self, email_hash: str) -> str | None:
        return self.emails.get(email_hash)

    def load_profile(self, user_id: str) -> Profile | None:
        stored = self.accounts.accounts.get(user_id)
        return None if stored is None else stored.account.profile

    def put_challenge(self, challenge: ChallengeRecord, ttl: int) -> None:
        if challenge.challenge_id in self.challenges:
            raise ConditionFailed(0)
        self.challenges[challenge.challenge_id] = challenge

    def get_challenge(self, challenge_id: str) -> ChallengeRecord | None:
        return self.challenges.get(challenge_id)

    def challenge_exists(self, challenge_id: str) -> bool:
        return challenge_id in self.challenges

    def count_attempt(self, challenge_id: str, limit: int) -> AttemptResult:
        challenge = self.challenges.get(challenge_id)
        if challenge is None:
            return AttemptResult(Attempt.GONE)
        if challenge.attempts >= limit:
            return AttemptResult(Attempt.REFUSED)
        self.challenges[challenge_id] = replace(challenge, attempts=challenge.attempts + 1)
        return AttemptResult(Attempt.COUNTED, challenge.attempts + 1)

    def get_rate_window(self, email_hash: str) -> RateWindow:
        return self.rate_windows.get(email_hash, RateWindow(stamps=[], version=0))

    def put_rate_window(self, email_hash: str, stamps: list[int], read_version: int, ttl: int) -> None:
        if self.get_rate_window(email_hash).version != read_version:
            raise ConditionFailed(0)
        self.rate_windows[email_hash] = RateWindow(stamps=list(stamps), version=read_version + 1)

    def count_address_request(self, source_hash: str, window_start: int, ttl: int) -> int:
        key = (source_hash, window_start)
        self.address_counts[key] = self.address_counts.get(key, 0) + 1
        return self.address_counts[key]

    def get_verify_failures(self, email_hash: str) -> VerifyFailures:
        return self.failures.get(email_hash, VerifyFailures(failures=0, locked_until_ms=0, version=0))

    def put_verify_failures(
        self, email_hash: str, failures: int, locked_until_ms: int, read_version: int, ttl: int
    ) -> None:
        if self.get_verify_failures(email_hash).version != read_version:
            raise ConditionFailed(0)
        self.failures[email_hash] = VerifyFailures(failures, locked_until_ms, read_version + 1)

    def clear_verify_failures(self, email_hash: str) -> None:
        self.failures.pop(email_hash, None)

    def open_session(
        self, challenge_id: str, session: SessionRecord, ttl: int, new_account: NewAccount | None = None
    ) -> None:
        # The adapter's one transaction: every condition is checked before anything is written.
        if challenge_id not in self.challenges:
            raise VersionConflict
        if new_account is not None:
            if new_account.email_hash in self.emails:
                raise EmailClaimed
            if new_account.account.user_id in self.accounts.accounts:
                raise ConditionFailed(2)
        if (session.user_id, session.session_id) in self.sessions:
            raise ConditionFailed(3 if new_account is not None else 1)
        del self.challenges[challenge_id]
        if new_account is not None:
            account = new_account.account
            self.emails[new_account.email_hash] = account.user_id
            self.accounts.accounts[account.user_id] = _Stored(copy.deepcopy(account), 0)
        self.sessions[(session.user_id, session.session_id)] = session

    def get_session(self, user_id: str, session_id: str) -> SessionRecord | None:
        return self.sessions.get((user_id, session_id))

    def delete_session(self, user_id: str, session_id: str) -> None:
        self.sessions.pop((user_id, session_id), None)

    def account_items(self, user_id: str) -> AccountItems:
        sessions = [s for (owner, _), s in sorted(self.sessions.items()) if owner == user_id]
        return AccountItems(sessions, list(self.idempotency.get(user_id, [])))

    def erase_account(self, user_id: str, email_hash: str, challenge_id: str) -> None:
        for key in [k for k in self.sessions if k[0] == user_id]:
            del self.sessions[key]
        self.idempotency.pop(user_id, None)
        self.accounts.records = {k: v for k, v in self.accounts.records.items() if k[0] != user_id}
        self.failures.pop(email_hash, None)
        self.rate_windows.pop(email_hash, None)
        if challenge_id not in self.challenges:
            raise VersionConflict  # the last step's condition: one code erases once
        del self.challenges[challenge_id]
        self.emails.pop(email_hash, None)
        self.accounts.accounts.pop(user_id, None)


@dataclass
class FakeLiveStore:
    tickets: dict[str, tuple[str, int]] = field(default_factory=dict)  # ticket hash -> (user id, expiry)
    open: dict[str, dict[str, int]] = field(default_factory=dict)  # user id -> connection id -> expiry
    owners: dict[str, str] = field(default_factory=dict)  # connection id -> user id

    def put_ticket(self, ticket_hash: str, user_id: str, expires_at: int) -> None:
        self.tickets[ticket_hash] = (user_id, expires_at)

    def take_ticket(self, ticket_hash: str) -> tuple[str, int] | None:
        return self.tickets.pop(ticket_hash, None)

    def put_connection(self, user_id: str, connection_id: str, expires_at: int) -> None:
        self.open.setdefault(user_id, {})[connection_id] = expires_at
        self.owners[connection_id] = user_id

    def connection_owner(self, connection_id: str) -> str | None:
        return self.owners.get(connection_id)

    def delete_connection(self, user_id: str, connection_id: str) -> None:
        self.open.get(user_id, {}).pop(connection_id, None)
        self.owners.pop(connection_id, None)

    def connections(self, user_id: str) -> list[Connection]:
        return [Connection(c, expires) for c, expires in sorted(self.open.get(user_id, {}).items())]
