"""The DynamoDB adapter of the write flow's port (ciq.ports): the user store's Query
and conditional transaction, with idempotency records in the same transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq.contracts.entities import SCHEMA_VERSION
from ciq.ports import AnswerRecord, Changes, Loaded, StoredAnswer
from ciq.store import idempotency, user_store
from ciq.store.records import assemble

if TYPE_CHECKING:
    from ciq.domain.account import Account
    from ciq.domain.reach import Reach

CREATED, OK = 201, 200


class DynamoUnitOfWork:
    def load(self, user_id: str, reach: Reach | None = None) -> Loaded | None:
        snapshot = user_store.load(user_id) if reach is None else user_store.load_reach(user_id, reach)
        if snapshot is None:
            return None
        return Loaded(snapshot.account, snapshot.version, snapshot)

    def stored_version(self, user_id: str) -> int | None:
        return user_store.stored_version(user_id)

    def changed_since(self, user_id: str, since: int) -> Changes | None:
        changed = user_store.load_changed_since(user_id, since)
        if changed is None:
            return None
        root = changed.root
        return Changes(
            account=assemble(user_id, root, changed.workspaces),
            version=changed.version,
            workspace_order=list(root.workspace_order),
            exact=root.initialized and root.schema_version == SCHEMA_VERSION,
        )

    def stored_answer(self, user_id: str) -> StoredAnswer | None:
        return user_store.load_answer(user_id)

    def refresh(self, loaded: Loaded) -> None:
        if isinstance(loaded.handle, user_store.Snapshot) and loaded.handle.stale:
            user_store.refresh(loaded.handle, loaded.account)

    def commit(self, loaded: Loaded, records: tuple[AnswerRecord, ...] = (), token: str | None = None) -> int:
        account: Account = loaded.account
        snapshot = loaded.handle if isinstance(loaded.handle, user_store.Snapshot) else None
        items = [
            idempotency.put_item(
                account.user_id,
                record.key_hash,
                record.request_hash,
                CREATED if record.created else OK,
                record.body or b"",
                version=record.version if record.version is not None else loaded.version + 1,
                replace=record.replaces,
            )
            for record in records
        ]
        return user_store.save(snapshot, account, items, commit_token=token)

    def committed(self, user_id: str, token: str) -> bool:
        return user_store.committed(user_id, token)

    def answer(self, user_id: str, key_hash: str) -> AnswerRecord | None:
        record = idempotency.get(user_id, key_hash)
        if record is None:
            return None
        return AnswerRecord(
            key_hash=key_hash,
            request_hash=record.request_hash,
            created=record.status == CREATED,
            body=record.body,
            version=record.version,
        )
