"""An in-memory unit of work (the port in ciq.ports), for service tests that run in milliseconds:
accounts and idempotency records in dicts, copied on every load and commit so that a change is
seen only once committed, as with the store. Faults are scripted per commit."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ciq.contracts.entities import Profile
from ciq.domain.account import Account
from ciq.errors import ConditionFailed, DependencyUnavailable, VersionConflict
from ciq.ports import AnswerRecord, Loaded

if TYPE_CHECKING:
    from collections.abc import Callable


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

    def load(self, user_id: str) -> Loaded | None:
        stored = self.accounts.get(user_id)
        if stored is None:
            return None
        return Loaded(copy.deepcopy(stored.account), stored.version)

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
        account = copy.deepcopy(loaded.account)
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
