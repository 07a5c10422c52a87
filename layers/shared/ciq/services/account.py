"""/api/account use cases: export everything stored about the caller, and erase the account
(CONTRACT §11 "Account"; docs/api/auth.md "Account export and deletion")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ciq import audit
from ciq.auth import clock
from ciq.auth.emails import email_hash
from ciq.auth.secret import load_auth_secret
from ciq.contracts.account import AccountExport, IdempotencyInfo, SessionInfo, VerificationState
from ciq.domain.onboarding import setup_status
from ciq.services import auth
from ciq.services.writes import peek_account
from ciq.store import account_store, auth_store, keys
from ciq.store.unit_of_work import DynamoUnitOfWork

if TYPE_CHECKING:
    from ciq.contracts.account import AccountDeleteRequest

AUDIT_NOTE = (
    "Audit records (sign-ins, sign-outs, changes) are log lines in CloudWatch Logs, kept for the "
    "stage's log retention and not stored per account; they hold internal ids only."
)


def export(user_id: str, session_id: str) -> AccountExport:
    """Everything the table holds about the caller. Reads only: a new user's defaults are shown as
    they would be stored, not written."""
    account, version = peek_account(DynamoUnitOfWork(), user_id)
    items = account_store.user_items(user_id)
    failures = auth_store.get_verify_failures(email_hash(load_auth_secret().pepper, account.profile.email))
    return AccountExport(
        exported_at=clock.iso(clock.now()),
        profile=account.profile,
        data=account.to_user_data(),
        version=version,
        setup_status=setup_status(account, session_id),
        sessions=[
            _session(item, session_id) for item in items if _sk(item).startswith(keys.SESSION_SK_PREFIX)
        ],
        idempotency_records=[
            _idempotency(item) for item in items if _sk(item).startswith(keys.IDEMPOTENCY_SK_PREFIX)
        ],
        verification=VerificationState(
            consecutive_failures=failures.failures,
            locked_until=clock.iso(clock.from_epoch_millis(failures.locked_until_ms))
            if failures.locked_until_ms
            else None,
        ),
        audit=AUDIT_NOTE,
    )


def delete(user_id: str, request: AccountDeleteRequest) -> None:
    """Erases the account once a fresh code of a sign-in challenge of the caller's own email checks
    out: every item of the user's partition (data, sessions, idempotency records), the email's
    items and, last and atomically, the email index and the root. A later sign-up with the same
    email starts from nothing."""
    secret = load_auth_secret()
    challenge = auth_store.get_challenge(request.challenge_id)
    if challenge is None or challenge.purpose != "sign-in" or challenge.user_id != user_id:
        raise auth.challenge_not_found()  # another account's challenge is not the caller's business
    auth.check_code(secret, challenge, request.code, clock.now())
    others = [
        {"pk": i["pk"], "sk": i["sk"]} for i in account_store.user_items(user_id) if _sk(i) != keys.ROOT_SK
    ]
    account_store.delete_keys([*others, *auth_store.email_side_keys(challenge.email_hash)])
    account_store.erase(user_id, challenge.email_hash, challenge.challenge_id)
    audit.account_deleted(user_id)


def _sk(item: dict[str, Any]) -> str:
    return str(item["sk"]["S"])


def _session(item: dict[str, Any], current: str) -> SessionInfo:
    session_id = _sk(item)[len(keys.SESSION_SK_PREFIX) :]
    return SessionInfo(
        session_id=session_id,
        created_at=item["createdAt"]["S"],
        expires_at=item["expiresAt"]["S"],
        current=session_id == current,
    )


def _idempotency(item: dict[str, Any]) -> IdempotencyInfo:
    return IdempotencyInfo(
        key_hash=_sk(item)[len(keys.IDEMPOTENCY_SK_PREFIX) :],
        status=int(item["status"]["N"]),
        version=int(item["version"]["N"]) if "version" in item else None,
        expires_at=int(item["expiresAt"]["N"]),
    )
