"""/api/account use cases: export everything stored about the caller, and erase the account
(CONTRACT §11 "Account"; docs/api/auth.md "Account export and deletion"). They receive the account's
unit of work and the sign-in store (ciq.ports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq import audit
from ciq.auth import clock
from ciq.auth.emails import email_hash
from ciq.auth.secret import load_auth_secret
from ciq.contracts.account import AccountExport, IdempotencyInfo, SessionInfo, VerificationState
from ciq.domain.onboarding import setup_status
from ciq.services import auth
from ciq.services.writes import peek_account

if TYPE_CHECKING:
    from ciq.auth.records import IdempotencyEntry, SessionRecord
    from ciq.contracts.account import AccountDeleteRequest
    from ciq.ports import AuthStore, UnitOfWork

AUDIT_NOTE = (
    "Audit records (sign-ins, sign-outs, changes) are log lines in CloudWatch Logs, kept for the "
    "stage's log retention and not stored per account; they hold internal ids only."
)


def export(uow: UnitOfWork, store: AuthStore, user_id: str, session_id: str) -> AccountExport:
    """Everything the table holds about the caller. Reads only: a new user's defaults are shown as
    they would be stored, not written."""
    account, version = peek_account(uow, user_id)
    items = store.account_items(user_id)
    failures = store.get_verify_failures(email_hash(load_auth_secret().pepper, account.profile.email))
    return AccountExport(
        exported_at=clock.iso(clock.now()),
        profile=account.profile,
        data=account.to_user_data(),
        version=version,
        setup_status=setup_status(account, session_id),
        sessions=[_session(session, session_id) for session in items.sessions],
        idempotency_records=[_idempotency(record) for record in items.idempotency_records],
        verification=VerificationState(
            consecutive_failures=failures.failures,
            locked_until=clock.iso(clock.from_epoch_millis(failures.locked_until_ms))
            if failures.locked_until_ms
            else None,
        ),
        audit=AUDIT_NOTE,
    )


def delete(store: AuthStore, user_id: str, request: AccountDeleteRequest) -> None:
    """Erases the account once a fresh code of a sign-in challenge of the caller's own email checks
    out: every item of the user's partition (data, sessions, idempotency records), the email's
    items and, last and atomically, the email index and the root. A later sign-up with the same
    email starts from nothing."""
    secret = load_auth_secret()
    challenge = store.get_challenge(request.challenge_id)
    if challenge is None or challenge.purpose != "sign-in" or challenge.user_id != user_id:
        raise auth.challenge_not_found()  # another account's challenge is not the caller's business
    auth.check_code(store, secret, challenge, request.code, clock.now())
    store.erase_account(user_id, challenge.email_hash, challenge.challenge_id)
    audit.account_deleted(user_id)


def _session(session: SessionRecord, current: str) -> SessionInfo:
    return SessionInfo(
        session_id=session.session_id,
        created_at=session.created_at,
        expires_at=session.expires_at,
        current=session.session_id == current,
    )


def _idempotency(record: IdempotencyEntry) -> IdempotencyInfo:
    return IdempotencyInfo(
        key_hash=record.key_hash,
        status=record.status,
        version=record.version,
        expires_at=record.expires_at,
    )
