"""/api/auth/* use cases and the authorizer's session check (CONTRACT §4, §6, §9, §10).

Sign-up and sign-in each issue a challenge: a code sent to the email, stored only as an HMAC, valid
10 minutes and for 5 attempts. Verify spends the challenge and opens a session; for a sign-up it
also creates the account, in the same transaction, so an unverified sign-up leaves nothing behind
but the challenge, which expires.

Every function receives the store (ciq.ports.AuthStore) it reads and writes; the handlers pass the
DynamoDB adapter, service tests an in-memory one (tests/fakes.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from ciq import audit
from ciq.auth import clock, lockout, rate, tokens
from ciq.auth.codes import code_digest, code_matches, new_code
from ciq.auth.emails import email_hash, source_hash
from ciq.auth.models import ChallengeStarted, SessionOpened, SessionView
from ciq.auth.records import Attempt, ChallengeRecord, SessionRecord
from ciq.auth.secret import load_auth_secret
from ciq.auth.sender import Purpose, sender_for
from ciq.contracts.entities import Profile
from ciq.domain.account import Account
from ciq.errors import (
    AccountExists,
    AccountNotFound,
    ChallengeExpired,
    ChallengeLocked,
    ConcurrentModification,
    ConditionFailed,
    EmailClaimed,
    InternalError,
    InvalidCode,
    NotFound,
    RateLimited,
    Unauthorized,
    VerificationLocked,
    VersionConflict,
)
from ciq.ports import NewAccount
from ciq.settings import get_settings

if TYPE_CHECKING:
    from datetime import datetime

    from ciq.auth.models import SignInRequest, SignUpRequest, VerifyRequest
    from ciq.auth.records import VerifyFailures
    from ciq.auth.secret import AuthSecret
    from ciq.ports import AuthStore
    from ciq.settings import Settings

CHALLENGE_SECONDS = 10 * 60
MAX_ATTEMPTS = 5
# Each lost race on the rate window means another challenge was admitted, so after
# CHALLENGES_PER_WINDOW losses the window is full and the next read refuses properly.
RATE_WRITE_TRIES = rate.CHALLENGES_PER_WINDOW + 2
COMMIT_TRIES = 3
# Each lost race on the failure count means another guess was counted; past the lock threshold the
# next read refuses, so this many tries always end in a count or a refusal.
FAILURE_WRITE_TRIES = lockout.FAILURES_BEFORE_LOCK + 5

# -- challenges -------------------------------------------------------------------------------------


def start_sign_up(store: AuthStore, request: SignUpRequest, source_ip: str | None = None) -> ChallengeStarted:
    """409 account_exists when the email already has an account."""
    secret = load_auth_secret()
    _admit_source(store, secret, source_ip)
    email_key = email_hash(secret.pepper, request.email)
    if store.user_id_for_email(email_key) is not None:
        raise AccountExists("an account with this email already exists; sign in instead")
    pending = request.model_dump(by_alias=True)
    _admit_source(store, secret, source_ip, for_email=email_key)
    return _issue_challenge(store, secret, "sign-up", request.email, email_key, sign_up=pending)


def start_sign_in(store: AuthStore, request: SignInRequest, source_ip: str | None = None) -> ChallengeStarted:
    """404 account_not_found when no account has this email (the product's documented behaviour)."""
    secret = load_auth_secret()
    _admit_source(store, secret, source_ip)
    email_key = email_hash(secret.pepper, request.email)
    user_id = store.user_id_for_email(email_key)
    if user_id is None:
        raise AccountNotFound("no account has this email; sign up first")
    _admit_source(store, secret, source_ip, for_email=email_key)
    return _issue_challenge(store, secret, "sign-in", request.email, email_key, user_id=user_id)


def _issue_challenge(
    store: AuthStore,
    secret: AuthSecret,
    purpose: Purpose,
    email: str,
    email_key: str,
    *,
    user_id: str | None = None,
    sign_up: dict[str, str] | None = None,
) -> ChallengeStarted:
    settings = get_settings()
    now = clock.now()
    _admit_challenge(store, email_key, now)
    challenge_id = secrets.token_urlsafe(24)
    code = new_code(settings.verification_mode)
    expires_at = now + timedelta(seconds=CHALLENGE_SECONDS)
    store.put_challenge(
        ChallengeRecord(
            challenge_id=challenge_id,
            purpose=purpose,
            email_hash=email_key,
            code_digest=code_digest(secret.pepper, challenge_id, code),
            expires_at=clock.iso(expires_at),
            attempts=0,
            user_id=user_id,
            sign_up=sign_up,
        ),
        ttl=clock.epoch_seconds(expires_at),
    )
    sender_for(settings).send_code(email, code, purpose)
    return ChallengeStarted(challenge_id=challenge_id, expires_at=clock.iso(expires_at))


def _admit_source(
    store: AuthStore, secret: AuthSecret, source_ip: str | None, *, for_email: str | None = None
) -> None:
    """429 rate_limited (with Retry-After) past SOURCE_ADDRESS_AUTH_LIMIT sign-up, sign-in and
    verify requests from one source address in a 15-minute window; with `for_email`, past
    SOURCE_ADDRESS_EMAIL_CHALLENGE_LIMIT challenges of that email from that address, so one address
    cannot spend a victim's per-email quota alone. Without an address (not API Gateway) there is
    nothing to count."""
    if not source_ip:
        return
    settings = get_settings()
    window = rate.address_window(clock.epoch_seconds(clock.now()))
    ttl = window.start + rate.ADDRESS_WINDOW_SECONDS + 60
    subject, limit = source_ip, settings.source_address_auth_limit
    if for_email is not None:
        subject, limit = f"{source_ip} {for_email}", settings.source_address_email_challenge_limit
    count = store.count_address_request(source_hash(secret.pepper, subject), window.start, ttl)
    if count > limit:
        what = "codes for this email" if for_email is not None else "sign-in requests"
        raise RateLimited(
            f"too many {what} from this address; retry in {window.seconds_left} s",
            headers={"Retry-After": str(window.seconds_left)},
        )


def _admit_challenge(store: AuthStore, email_key: str, now: datetime) -> None:
    """429 rate_limited (with Retry-After) on the 6th challenge for one email within 15 minutes."""
    now_ms = clock.epoch_millis(now)
    for _ in range(RATE_WRITE_TRIES):
        window = store.get_rate_window(email_key)
        admission = rate.admit(window.stamps, now_ms)
        if not admission.admitted:
            raise RateLimited(
                f"too many codes were requested for this email; retry in {admission.retry_after} s",
                headers={"Retry-After": str(admission.retry_after)},
            )
        ttl = (max(admission.stamps) // 1000) + rate.WINDOW_SECONDS
        try:
            store.put_rate_window(email_key, admission.stamps, window.version, ttl)
        except ConditionFailed:
            continue  # another request for this email wrote first: read its window again
        return
    raise RateLimited(
        "too many concurrent requests for this email; retry shortly", headers={"Retry-After": "1"}
    )


# -- verify -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verified:
    """A challenge whose code matched, with what opening its session needs."""

    store: AuthStore
    settings: Settings
    secret: AuthSecret
    challenge: ChallengeRecord
    now: datetime


def verify(store: AuthStore, request: VerifyRequest, source_ip: str | None = None) -> SessionOpened:
    """Spends the challenge and opens a session (creating the account first for a sign-up)."""
    settings = get_settings()
    secret = load_auth_secret()
    _admit_source(store, secret, source_ip)
    challenge = store.get_challenge(request.challenge_id)
    if challenge is None or challenge.purpose not in ("sign-up", "sign-in"):
        raise _challenge_not_found()
    now = clock.now()
    check_code(store, secret, challenge, request.code, now)
    verified = _Verified(store, settings, secret, challenge, now)
    if challenge.purpose == "sign-up":
        return _open_new_account(verified)
    return _open_existing_account(verified)


def check_code(
    store: AuthStore, secret: AuthSecret, challenge: ChallengeRecord, code: str, now: datetime
) -> None:
    """Every rule a code meets before it opens anything (a session, an account's erasure): 410 when
    the challenge expired, 429 while the email's verification is locked (code not compared), 429
    past the challenge's attempts, 400 when wrong (counted per challenge and per email)."""
    if now >= clock.parse_iso(challenge.expires_at):
        raise ChallengeExpired("this code has expired; request a new one")
    _refuse_while_locked(store.get_verify_failures(challenge.email_hash), now)
    _count_attempt(store, challenge.challenge_id)
    failures = _count_failure(store, challenge, now)  # counted before the check: a guess in flight counts
    if not code_matches(secret.pepper, challenge.challenge_id, code, challenge.code_digest):
        if locked_for := lockout.lock_seconds(failures):
            audit.verification_locked(challenge.user_id, failures, locked_for)
        raise InvalidCode("the code is not correct")
    store.clear_verify_failures(challenge.email_hash)  # a success resets the count


def challenge_not_found() -> NotFound:
    return _challenge_not_found()


def _refuse_while_locked(record: VerifyFailures, now: datetime) -> None:
    """429 verification_locked (with Retry-After) while the email's verification is locked."""
    now_ms = clock.epoch_millis(now)
    if record.locked_until_ms > now_ms:
        wait = lockout.retry_after(record.locked_until_ms, now_ms)
        raise VerificationLocked(
            f"too many wrong codes for this account; verification is locked for {wait} s",
            headers={"Retry-After": str(wait)},
        )


def _count_failure(store: AuthStore, challenge: ChallengeRecord, now: datetime) -> int:
    """Counts this verify as a failure of the email, and locks verification when the count reaches
    the threshold, before the code is checked (the caller clears it on success). Conditional on the
    count read, so parallel guesses each count once and none slips past a lock another one set.
    Returns the count, this attempt included."""
    now_ms = clock.epoch_millis(now)
    for _ in range(FAILURE_WRITE_TRIES):
        record = store.get_verify_failures(challenge.email_hash)
        _refuse_while_locked(record, now)
        failures = record.failures + 1
        lock_ms = lockout.lock_seconds(failures) * 1000
        locked_until = now_ms + lock_ms if lock_ms else record.locked_until_ms
        ttl = (max(locked_until, now_ms) // 1000) + lockout.FORGET_AFTER_SECONDS
        try:
            store.put_verify_failures(challenge.email_hash, failures, locked_until, record.version, ttl)
        except ConditionFailed:
            continue  # another guess for this email was counted first: read the count again
        return failures
    raise ConcurrentModification(
        "too many concurrent verifications for this account; retry shortly", headers={"Retry-After": "1"}
    )


def _count_attempt(store: AuthStore, challenge_id: str) -> None:
    result = store.count_attempt(challenge_id, MAX_ATTEMPTS)
    if result.outcome is Attempt.GONE:
        raise _challenge_not_found()
    if result.outcome is Attempt.REFUSED:
        raise ChallengeLocked(f"this code was tried {MAX_ATTEMPTS} times and is locked; request a new one")


def _open_new_account(verified: _Verified) -> SessionOpened:
    fields = verified.challenge.sign_up or {}
    user_id = secrets.token_urlsafe(16)
    profile = Profile(
        user_id=user_id,
        email=fields["email"],
        first_name=fields["firstName"],
        last_name=fields["lastName"],
        company=fields["company"],
        phone=fields["phone"],
        created_at=clock.iso(verified.now),
    )
    new_account = NewAccount(verified.challenge.email_hash, Account(user_id=user_id, profile=profile))
    return _open_session(verified, user_id, profile, new_account)


def _open_existing_account(verified: _Verified) -> SessionOpened:
    user_id = verified.challenge.user_id or ""
    profile = verified.store.load_profile(user_id) if user_id else None
    if profile is None:
        raise AccountNotFound("no account has this email; sign up first")
    return _open_session(verified, user_id, profile, None)


def _open_session(
    verified: _Verified, user_id: str, profile: Profile, new_account: NewAccount | None
) -> SessionOpened:
    session_id = secrets.token_urlsafe(16)
    ttl_seconds = verified.settings.session_ttl_seconds
    issued = tokens.issue(verified.secret, user_id, session_id, verified.now, ttl_seconds)
    session = SessionRecord(
        user_id=user_id,
        session_id=session_id,
        created_at=clock.iso(issued.issued_at),
        expires_at=clock.iso(issued.expires_at),
    )
    ttl = clock.epoch_seconds(issued.expires_at)
    _commit(verified.store, verified.challenge.challenge_id, session, ttl, new_account)
    audit.signed_in(user_id, session_id, new_account=new_account is not None)
    return SessionOpened(token=issued.token, expires_at=session.expires_at, profile=profile)


def _commit(
    store: AuthStore, challenge_id: str, session: SessionRecord, ttl: int, new_account: NewAccount | None
) -> None:
    for _ in range(COMMIT_TRIES):
        try:
            store.open_session(challenge_id, session, ttl, new_account)
        except VersionConflict:
            # The challenge was spent by a concurrent verify, or only touched (an attempt counted).
            if not store.challenge_exists(challenge_id):
                raise _challenge_not_found() from None
            continue
        except EmailClaimed:
            raise AccountExists("an account with this email was created meanwhile; sign in instead") from None
        except ConditionFailed as failed:
            raise InternalError("the session could not be created") from failed
        return
    raise ConcurrentModification(
        "the code is being verified by another request; retry", headers={"Retry-After": "1"}
    )


def _challenge_not_found() -> NotFound:
    return NotFound("no such challenge, or its code was already used; request a new code")


# -- sessions ---------------------------------------------------------------------------------------


def authenticate(store: AuthStore, token: str | None) -> SessionRecord:
    """The live session a token opens. Unauthorized (with a reason safe to log) when the token is
    missing, malformed, tampered with, signed by an unknown or retired key, expired, or its session
    was signed out. A dependency outage raises DependencyUnavailable instead, never Unauthorized."""
    if not token:
        raise Unauthorized("no session token")
    secret = load_auth_secret()
    try:
        claims = tokens.verify(token, secret, clock.now())
    except tokens.InvalidToken as invalid:
        raise Unauthorized(f"token rejected: {invalid.reason}") from None
    return live_session(store, claims.sub, claims.sid)


def live_session(store: AuthStore, user_id: str, session_id: str) -> SessionRecord:
    """The stored session, read now (a signed-out session is dead at once, whatever a cache says)."""
    session = store.get_session(user_id, session_id)
    if session is None:
        raise Unauthorized("session not found or signed out")
    if clock.now() >= clock.parse_iso(session.expires_at):
        raise Unauthorized("session expired")
    return session


def current_session(store: AuthStore, user_id: str, session_id: str) -> SessionView:
    session = live_session(store, user_id, session_id)
    profile = store.load_profile(user_id)
    if profile is None:
        raise Unauthorized("session not found or signed out")
    return SessionView(profile=profile, expires_at=session.expires_at)


def sign_out(store: AuthStore, user_id: str, session_id: str) -> None:
    """Idempotent: signing out a session that is already gone is not an error."""
    store.delete_session(user_id, session_id)
