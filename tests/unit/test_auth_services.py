"""The sign-in, account and live-update services on the in-memory stores (tests/fakes.py): no moto,
no network, milliseconds per test. The DynamoDB adapters and the handlers keep their tests on moto
(tests/integration/test_auth.py, test_account.py, test_verification_lockout.py, test_live_updates.py)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ciq.auth import clock
from ciq.auth.codes import FIXED_CODE
from ciq.auth.emails import email_hash
from ciq.auth.models import SignInRequest, SignUpRequest, VerifyRequest
from ciq.auth.secret import AuthSecret
from ciq.contracts.account import AccountDeleteRequest
from ciq.errors import (
    AccountExists,
    AccountNotFound,
    ChallengeLocked,
    InvalidCode,
    NotFound,
    RateLimited,
    Unauthorized,
    VerificationLocked,
)
from ciq.services import account, auth, live
from tests.conftest import new_auth_secret
from tests.fakes import FakeAuthStore, FakeLiveStore

EMAIL = "jane@example.com"
SIGN_UP = SignUpRequest.model_validate(
    {"firstName": "Jane", "lastName": "Doe", "email": EMAIL, "company": "Acme", "phone": "+15555550100"}
)
WRONG = "000000"


class Clock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> AuthSecret:
    loaded = AuthSecret.model_validate_json(new_auth_secret())
    monkeypatch.setattr(auth, "load_auth_secret", lambda: loaded)
    monkeypatch.setattr(account, "load_auth_secret", lambda: loaded)
    return loaded


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


@pytest.fixture
def store(secret: AuthSecret, frozen: Clock) -> FakeAuthStore:
    return FakeAuthStore()


def sent_codes() -> list[str]:
    path = Path(os.environ["LOCAL_OUTBOX_PATH"])
    return [json.loads(line)["code"] for line in path.read_text().splitlines()] if path.exists() else []


def signed_up(store: FakeAuthStore) -> str:
    started = auth.start_sign_up(store, SIGN_UP)
    return auth.verify(store, VerifyRequest(challenge_id=started.challenge_id, code=FIXED_CODE)).token


def sign_in_challenge(store: FakeAuthStore) -> str:
    return auth.start_sign_in(store, SignInRequest(email=EMAIL)).challenge_id


def verify(store: FakeAuthStore, challenge_id: str, code: str) -> None:
    auth.verify(store, VerifyRequest(challenge_id=challenge_id, code=code))


# -- sign-up and verify -----------------------------------------------------------------------------


def test_a_verified_sign_up_creates_the_account_and_opens_a_session(store: FakeAuthStore) -> None:
    # Given a sign-up, whose code was sent and whose challenge is stored
    started = auth.start_sign_up(store, SIGN_UP)
    assert sent_codes() == [FIXED_CODE] and store.accounts.accounts == {}
    # When its code is verified
    opened = auth.verify(store, VerifyRequest(challenge_id=started.challenge_id, code=FIXED_CODE))
    # Then the account exists with the profile, the email is claimed, one session is open, and the
    # challenge is spent
    user_id = opened.profile.user_id
    assert store.load_profile(user_id) == opened.profile and opened.profile.first_name == "Jane"
    assert list(store.emails.values()) == [user_id]
    assert [s.user_id for s in store.sessions.values()] == [user_id]
    assert store.challenges == {}
    # And the token opens that session
    assert auth.authenticate(store, opened.token).user_id == user_id
    # When the same code is verified again; Then 404: one code opens one session
    with pytest.raises(NotFound):
        verify(store, started.challenge_id, FIXED_CODE)


def test_a_taken_email_cannot_sign_up_and_an_unknown_one_cannot_sign_in(store: FakeAuthStore) -> None:
    # Given an account
    signed_up(store)
    # When the same email signs up again; Then 409 account_exists
    with pytest.raises(AccountExists):
        auth.start_sign_up(store, SIGN_UP)
    # When another email signs in; Then 404 account_not_found
    with pytest.raises(AccountNotFound):
        auth.start_sign_in(store, SignInRequest(email="nobody@example.com"))


def test_an_email_claimed_between_sign_up_and_verify_is_account_exists(store: FakeAuthStore) -> None:
    # Given two sign-ups of one email, both started before either was verified
    first = auth.start_sign_up(store, SIGN_UP)
    second = auth.start_sign_up(store, SIGN_UP)
    verify(store, first.challenge_id, FIXED_CODE)
    # When the second is verified; Then 409 account_exists, and its challenge is not spent
    with pytest.raises(AccountExists):
        verify(store, second.challenge_id, FIXED_CODE)
    assert store.challenge_exists(second.challenge_id) and len(store.accounts.accounts) == 1


def test_the_sixth_challenge_of_an_email_in_15_minutes_is_rate_limited(store: FakeAuthStore) -> None:
    # Given five challenges for one email
    for _ in range(5):
        auth.start_sign_up(store, SIGN_UP)
    # When a sixth is requested; Then 429 with the seconds until the oldest leaves the window
    with pytest.raises(RateLimited) as refused:
        auth.start_sign_up(store, SIGN_UP)
    assert refused.value.headers == {"Retry-After": "900"}
    assert len(sent_codes()) == 5


# -- wrong codes and lockout ------------------------------------------------------------------------


def test_a_challenge_takes_five_attempts(store: FakeAuthStore) -> None:
    # Given an account and a sign-in challenge tried with five wrong codes
    signed_up(store)
    challenge_id = sign_in_challenge(store)
    for _ in range(5):
        with pytest.raises(InvalidCode):
            verify(store, challenge_id, WRONG)
    # When the right code comes; Then 429 challenge_locked
    with pytest.raises(ChallengeLocked):
        verify(store, challenge_id, FIXED_CODE)


def test_ten_wrong_codes_lock_the_email_for_15_minutes(
    store: FakeAuthStore, frozen: Clock, secret: AuthSecret
) -> None:
    # Given ten wrong codes for one email over several challenges
    signed_up(store)
    for _ in range(2):
        challenge_id = sign_in_challenge(store)
        for _ in range(5):
            with pytest.raises(InvalidCode):
                verify(store, challenge_id, WRONG)
    # When the right code of a fresh challenge comes; Then 429 verification_locked, code not compared
    frozen.advance(15 * 60 - 10)  # the challenge window has room again
    challenge_id = sign_in_challenge(store)
    with pytest.raises(VerificationLocked) as locked:
        verify(store, challenge_id, FIXED_CODE)
    assert locked.value.headers == {"Retry-After": "10"}
    # When the lock has passed; Then the right code opens a session and the count is forgotten
    frozen.advance(10)
    verify(store, challenge_id, FIXED_CODE)
    assert store.get_verify_failures(email_hash(secret.pepper, EMAIL)).failures == 0


# -- sessions ---------------------------------------------------------------------------------------


def test_a_signed_out_session_is_refused_at_once(store: FakeAuthStore) -> None:
    # Given a session
    token = signed_up(store)
    session = auth.authenticate(store, token)
    assert auth.current_session(store, session.user_id, session.session_id).profile.email == EMAIL
    # When it signs out (twice: idempotent); Then its token is refused
    auth.sign_out(store, session.user_id, session.session_id)
    auth.sign_out(store, session.user_id, session.session_id)
    with pytest.raises(Unauthorized):
        auth.authenticate(store, token)


# -- account export and erasure ---------------------------------------------------------------------


def test_the_export_lists_the_sessions_and_the_verification_state(store: FakeAuthStore) -> None:
    # Given an account with two sessions and one wrong code
    first = auth.authenticate(store, signed_up(store))
    challenge_id = sign_in_challenge(store)
    verify(store, challenge_id, FIXED_CODE)
    with pytest.raises(InvalidCode):
        verify(store, sign_in_challenge(store), WRONG)
    # When it is exported from the first session
    exported = account.export(store.accounts, store, first.user_id, first.session_id)
    # Then both sessions are listed, the first marked current, with the failure count
    assert exported.profile.email == EMAIL and exported.version == 0
    assert sorted(s.current for s in exported.sessions) == [False, True]
    assert next(s for s in exported.sessions if s.current).session_id == first.session_id
    assert exported.verification.consecutive_failures == 1
    assert exported.verification.locked_until is None


def test_an_erased_account_leaves_nothing_and_its_email_can_sign_up_again(store: FakeAuthStore) -> None:
    # Given an account and a fresh sign-in challenge of its email
    user_id = auth.authenticate(store, signed_up(store)).user_id
    challenge_id = sign_in_challenge(store)
    # When the account is deleted with that challenge's code
    account.delete(store, user_id, AccountDeleteRequest(challenge_id=challenge_id, code=FIXED_CODE))
    # Then the account, its sessions, its email claim and the challenge are gone
    assert store.accounts.accounts == {} and store.sessions == {} and store.emails == {}
    assert store.challenges == {}
    # And the same code erases nothing more: 404
    with pytest.raises(NotFound):
        account.delete(store, user_id, AccountDeleteRequest(challenge_id=challenge_id, code=FIXED_CODE))
    # And the email starts from nothing
    assert auth.authenticate(store, signed_up(store)).user_id != user_id


def test_another_accounts_challenge_cannot_erase(store: FakeAuthStore) -> None:
    # Given an account, and a sign-in challenge of another account
    user_id = auth.authenticate(store, signed_up(store)).user_id
    other = SIGN_UP.model_copy(update={"email": "john@example.com"})
    verify(store, auth.start_sign_up(store, other).challenge_id, FIXED_CODE)
    challenge_id = auth.start_sign_in(store, SignInRequest(email="john@example.com")).challenge_id
    # When the first account's caller uses it; Then 404, and nothing is erased
    with pytest.raises(NotFound):
        account.delete(store, user_id, AccountDeleteRequest(challenge_id=challenge_id, code=FIXED_CODE))
    assert len(store.accounts.accounts) == 2 and store.challenge_exists(challenge_id)


# -- live updates -----------------------------------------------------------------------------------


def test_a_ticket_opens_one_connection_and_a_gone_one_is_forgotten(
    monkeypatch: pytest.MonkeyPatch, frozen: Clock
) -> None:
    # Given a live-updates ticket
    monkeypatch.setenv("LIVE_SOCKET_URL", "wss://live.example.com/test")
    from ciq.settings import reset_settings

    reset_settings()
    store = FakeLiveStore()
    ticket = live.issue_ticket(store, "u-1")["ticket"]
    # When it opens a connection, and is used again; Then the second is refused
    assert live.open_connection(store, ticket, "c-1=") == "u-1"
    with pytest.raises(Unauthorized):
        live.open_connection(store, ticket, "c-2=")
    # When the account changes and API Gateway says the connection is gone
    counts = live.notify(store, {"u-1": 4}, lambda _connection, _data: "gone")
    # Then it is forgotten
    assert (counts.sent, counts.gone) == (0, 1) and store.connections("u-1") == []
