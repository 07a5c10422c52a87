"""The DynamoDB adapters of the sign-in and live-update ports (ciq.ports.AuthStore, LiveStore): thin
classes over the item modules (auth_store, account_store, live_store), which they call by module
attribute so that a test may still wrap one of those functions. The function handlers create one of
each per sandbox and pass it to the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ciq.auth.records import AccountItems, IdempotencyEntry, SessionRecord
from ciq.errors import ConditionFailed, EmailClaimed
from ciq.store import account_store, auth_store, keys, live_store, user_store

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from ciq.auth.records import AttemptResult, ChallengeRecord, RateWindow, VerifyFailures
    from ciq.contracts.entities import Profile
    from ciq.ports import Connection, NewAccount

# A sign-up's transaction: the challenge first (its condition is "already used"), then the email's
# claim, then the root, then the session.
_EMAIL_CLAIM_INDEX = 1


class DynamoAuthStore:
    def user_id_for_email(self, email_hash: str) -> str | None:
        return auth_store.user_id_for_email(email_hash)

    def load_profile(self, user_id: str) -> Profile | None:
        return auth_store.load_profile(user_id)

    def put_challenge(self, challenge: ChallengeRecord, ttl: int) -> None:
        auth_store.put_challenge(challenge, ttl)

    def get_challenge(self, challenge_id: str) -> ChallengeRecord | None:
        return auth_store.get_challenge(challenge_id)

    def challenge_exists(self, challenge_id: str) -> bool:
        return auth_store.challenge_exists(challenge_id)

    def count_attempt(self, challenge_id: str, limit: int) -> AttemptResult:
        return auth_store.count_attempt(challenge_id, limit)

    def get_rate_window(self, email_hash: str) -> RateWindow:
        return auth_store.get_rate_window(email_hash)

    def put_rate_window(self, email_hash: str, stamps: list[int], read_version: int, ttl: int) -> None:
        auth_store.put_rate_window(email_hash, stamps, read_version, ttl)

    def count_address_request(self, source_hash: str, window_start: int, ttl: int) -> int:
        return auth_store.count_address_request(source_hash, window_start, ttl)

    def get_verify_failures(self, email_hash: str) -> VerifyFailures:
        return auth_store.get_verify_failures(email_hash)

    def put_verify_failures(
        self, email_hash: str, failures: int, locked_until_ms: int, read_version: int, ttl: int
    ) -> None:
        auth_store.put_verify_failures(email_hash, failures, locked_until_ms, read_version, ttl)

    def clear_verify_failures(self, email_hash: str) -> None:
        auth_store.clear_verify_failures(email_hash)

    def open_session(
        self, challenge_id: str, session: SessionRecord, ttl: int, new_account: NewAccount | None = None
    ) -> None:
        account_items: list[TransactWriteItemTypeDef] = []
        if new_account is not None:
            account = new_account.account
            account_items = [
                auth_store.email_item(new_account.email_hash, account.user_id, account.profile.created_at),
                user_store.new_user_item(account),
            ]
        items = [
            auth_store.consume_challenge_item(challenge_id),
            *account_items,
            auth_store.session_item(session, ttl=ttl),
        ]
        try:
            auth_store.write_all(items)
        except ConditionFailed as failed:
            if new_account is not None and failed.index == _EMAIL_CLAIM_INDEX:
                raise EmailClaimed from failed
            raise

    def get_session(self, user_id: str, session_id: str) -> SessionRecord | None:
        return auth_store.get_session(user_id, session_id)

    def delete_session(self, user_id: str, session_id: str) -> None:
        auth_store.delete_session(user_id, session_id)

    def account_items(self, user_id: str) -> AccountItems:
        items = account_store.user_items(user_id)
        return AccountItems(
            sessions=[
                _session(user_id, item) for item in items if _sk(item).startswith(keys.SESSION_SK_PREFIX)
            ],
            idempotency_records=[
                _idempotency(item) for item in items if _sk(item).startswith(keys.IDEMPOTENCY_SK_PREFIX)
            ],
        )

    def erase_account(self, user_id: str, email_hash: str, challenge_id: str) -> None:
        items = account_store.user_items(user_id)
        others = [{"pk": i["pk"], "sk": i["sk"]} for i in items if _sk(i) != keys.ROOT_SK]
        account_store.delete_keys([*others, *auth_store.email_side_keys(email_hash)])
        account_store.erase(user_id, email_hash, challenge_id)


def _sk(item: dict[str, Any]) -> str:
    return str(item["sk"]["S"])


def _session(user_id: str, item: dict[str, Any]) -> SessionRecord:
    return SessionRecord(
        user_id=user_id,
        session_id=_sk(item)[len(keys.SESSION_SK_PREFIX) :],
        created_at=item["createdAt"]["S"],
        expires_at=item["expiresAt"]["S"],
    )


def _idempotency(item: dict[str, Any]) -> IdempotencyEntry:
    return IdempotencyEntry(
        key_hash=_sk(item)[len(keys.IDEMPOTENCY_SK_PREFIX) :],
        status=int(item["status"]["N"]),
        version=int(item["version"]["N"]) if "version" in item else None,
        expires_at=int(item["expiresAt"]["N"]),
    )


class DynamoLiveStore:
    def put_ticket(self, ticket_hash: str, user_id: str, expires_at: int) -> None:
        live_store.put_ticket(ticket_hash, user_id, expires_at)

    def take_ticket(self, ticket_hash: str) -> tuple[str, int] | None:
        return live_store.take_ticket(ticket_hash)

    def put_connection(self, user_id: str, connection_id: str, expires_at: int) -> None:
        live_store.put_connection(user_id, connection_id, expires_at)

    def connection_owner(self, connection_id: str) -> str | None:
        return live_store.connection_owner(connection_id)

    def delete_connection(self, user_id: str, connection_id: str) -> None:
        live_store.delete_connection(user_id, connection_id)

    def connections(self, user_id: str) -> list[Connection]:
        return live_store.connections(user_id)
