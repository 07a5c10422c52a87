"""Per-account verification lockout (CONTRACT §11, issue 10 item 3; docs/api/auth.md): consecutive
failed verifications of one email are counted across its challenges; the 10th locks verification
for 15 minutes, each further failure doubles the wait up to 24 hours; a verify during a lock is
429 `verification_locked` with Retry-After and its code is not checked; a success resets the count.
Through the real auth handler on moto, time moved with `ciq.auth.clock`; a guess racing others (as
from another Lambda instance) is the verify route's service call, which threads can run at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import pytest

from ciq import budget
from ciq.auth import clock, lockout
from ciq.auth.models import SignInRequest, VerifyRequest
from ciq.errors import AppError
from ciq.services import auth
from ciq.settings import reset_settings
from ciq.store.adapters import DynamoAuthStore
from ciq.web.request import source_ip
from tests.conftest import LambdaContext, api_event, invoke, load_function

if TYPE_CHECKING:
    import threading
    from types import ModuleType

RIGHT, WRONG = "123456", "000000"  # the test stage's fixed code, and another
WAITS = [900, 1800, 3600, 7200, 14400, 28800, 57600, 86400, 86400]


class Clock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


@pytest.fixture
def app(moto_table: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # Every sample event comes from one address, and these tests make hundreds of auth requests in
    # one module-wide table: the per-address limit (tested in test_source_address_limit.py) is lifted.
    monkeypatch.setenv("SOURCE_ADDRESS_AUTH_LIMIT", "100000")
    reset_settings()
    return load_function("auth")


def _call(app: ModuleType, name: str, body: Any) -> tuple[int, dict[str, str], Any]:
    return invoke(app, api_event(name, body=body))


def _account(app: ModuleType, email: str) -> None:
    sign_up = {"firstName": "A", "lastName": "B", "email": email, "company": "C", "phone": "+14155550100"}
    _, _, started = _call(app, "auth-sign-up", sign_up)
    status, _, body = _call(app, "auth-verify", {"challengeId": started["challengeId"], "code": RIGHT})
    assert status == 200, body


def _challenge(app: ModuleType, email: str) -> str:
    status, _, body = _call(app, "auth-sign-in", {"email": email})
    assert status == 201, body
    return str(body["challengeId"])


def _verify(app: ModuleType, challenge_id: str, code: str) -> tuple[int, dict[str, str], str]:
    status, headers, body = _call(app, "auth-verify", {"challengeId": challenge_id, "code": code})
    return status, headers, str(body["error"]["code"]) if status >= 400 else "ok"


def _verify_elsewhere(challenge_id: str, code: str) -> tuple[int, dict[str, str], str]:
    """The verify route's service call (functions/auth/app.py) without the handler, as a request in
    another sandbox makes it: handlers run one at a time in this process (tests.conftest.invoke),
    the service and the store may be raced from threads."""
    request = VerifyRequest.model_validate({"challengeId": challenge_id, "code": code})
    with budget.started(LambdaContext()):
        try:
            auth.verify(DynamoAuthStore(), request, source_ip(api_event("auth-verify")))
        except AppError as refused:
            return refused.status, refused.headers, refused.code
    return 200, {}, "ok"


def _challenge_elsewhere(email: str) -> str:
    """The sign-in route's service call, the same way."""
    request = SignInRequest.model_validate({"email": email})
    with budget.started(LambdaContext()):
        started = auth.start_sign_in(DynamoAuthStore(), request, source_ip(api_event("auth-sign-in")))
    return started.challenge_id


def _fail(app: ModuleType, email: str, times: int) -> None:
    """`times` wrong codes on fresh challenges, five per challenge (each answered 400)."""
    while times:
        challenge_id = _challenge(app, email)
        for _ in range(min(5, times)):
            assert _verify(app, challenge_id, WRONG)[::2] == (400, "invalid_code")
            times -= 1


def _attempts(challenge_id: str) -> int:
    from ciq.store import auth_store

    record = auth_store.get_challenge(challenge_id)
    assert record is not None
    return record.attempts


def test_lock_waits_start_at_15_minutes_double_and_stop_at_24_hours() -> None:
    assert [lockout.lock_seconds(n) for n in range(0, 10)] == [0] * 10
    assert [lockout.lock_seconds(n) for n in range(10, 19)] == WAITS
    assert lockout.lock_seconds(10_000) == 86400


def test_ten_failures_across_challenges_lock_verification_without_checking_the_code(
    app: ModuleType, frozen: Clock, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given an account, and ten wrong codes over two of its challenges (five each)
    email = "lock-ten@example.com"
    _account(app, email)
    _fail(app, email, 10)
    # When the right code of a fresh challenge is sent during the lock
    challenge_id = _challenge(app, email)
    status, headers, code = _verify(app, challenge_id, RIGHT)
    # Then it is 429 verification_locked for 15 minutes, and the code was not even checked (the
    # challenge's attempts are untouched)
    assert (status, code, headers["Retry-After"]) == (429, "verification_locked", "900")
    assert _attempts(challenge_id) == 0
    # And the lock was audited once (no email in it) and counted in the VerificationLocked metric
    audits = [r.__dict__ for r in caplog.records if getattr(r, "event", None) == "auth.verification.locked"]
    assert [(a["failures"], a["lockSeconds"]) for a in audits] == [("10", "900")]
    assert audits[0]["userId"] and email not in caplog.text
    out = capfd.readouterr().out
    assert '"VerificationLocked"' in out and email not in out
    # When the lock has run out; Then the right code of a new challenge opens a session
    frozen.advance(900)
    assert _verify(app, _challenge(app, email), RIGHT)[0] == 200


def test_each_failure_after_a_lock_doubles_the_wait_up_to_24_hours(app: ModuleType, frozen: Clock) -> None:
    # Given an account whose verification is locked after ten failures
    email = "lock-grow@example.com"
    _account(app, email)
    _fail(app, email, 10)
    for wait, next_wait in pairwise(WAITS):
        # When the lock runs out and one more wrong code is sent
        frozen.advance(wait)
        challenge_id = _challenge(app, email)
        assert _verify(app, challenge_id, WRONG)[::2] == (400, "invalid_code")
        # Then the next lock is twice as long (24 h at most), whatever code is sent meanwhile
        status, headers, code = _verify(app, challenge_id, RIGHT)
        assert (status, code, headers["Retry-After"]) == (429, "verification_locked", str(next_wait))
        frozen.advance(next_wait - 1)
        assert _verify(app, _challenge(app, email), RIGHT)[::2] == (429, "verification_locked")
        frozen.advance(1 - next_wait)


def test_a_success_resets_the_count(app: ModuleType, frozen: Clock) -> None:
    # Given nine failures and then the right code
    email = "lock-reset@example.com"
    _account(app, email)
    _fail(app, email, 9)
    assert _verify(app, _challenge(app, email), RIGHT)[0] == 200
    # When nine more failures follow (an hour later, past the challenge rate window)
    frozen.advance(3600)
    _fail(app, email, 9)
    # Then verification is not locked: the count started again
    assert _verify(app, _challenge(app, email), RIGHT)[0] == 200


def test_sign_up_verifications_count_too(app: ModuleType, frozen: Clock) -> None:
    # Given ten wrong codes on sign-up challenges of an email that has no account yet
    email = "lock-signup@example.com"
    sign_up = {"firstName": "A", "lastName": "B", "email": email, "company": "C", "phone": "+14155550100"}
    for _ in range(2):
        challenge_id = _call(app, "auth-sign-up", sign_up)[2]["challengeId"]
        for _ in range(5):
            assert _verify(app, challenge_id, WRONG)[::2] == (400, "invalid_code")
    # When the right code of a third sign-up is sent; Then it is locked, and no account is made
    challenge_id = _call(app, "auth-sign-up", sign_up)[2]["challengeId"]
    assert _verify(app, challenge_id, RIGHT)[::2] == (429, "verification_locked")
    assert _call(app, "auth-sign-in", {"email": email})[0] == 404


def test_parallel_wrong_guesses_count_exactly_and_none_is_checked_past_the_lock(
    app: ModuleType, serialized_dynamodb: threading.Lock
) -> None:
    # Given an account and four fresh challenges (room for 20 guesses)
    email = "lock-parallel@example.com"
    _account(app, email)
    challenges = [_challenge(app, email) for _ in range(4)]
    # When 20 wrong guesses arrive at once (every DynamoDB call atomic, requests interleaved)
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda i: _verify_elsewhere(challenges[i % 4], WRONG), range(20)))
    # Then exactly ten codes were checked (400), every other guess was refused by the lock, and the
    # stored count is ten
    codes = sorted(code for _, _, code in answers)
    assert codes.count("invalid_code") == 10, codes
    assert set(codes) == {"invalid_code", "verification_locked"}, codes
    from ciq.auth.emails import email_hash
    from ciq.auth.secret import load_auth_secret
    from ciq.store import auth_store

    record = auth_store.get_verify_failures(email_hash(load_auth_secret().pepper, email))
    assert record.failures == 10


def test_a_guess_racing_another_is_counted_after_it(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given nine failures, and a tenth guess (another Lambda instance) that counts between this
    # verify's read of the count and its write
    email = "lock-race@example.com"
    _account(app, email)
    _fail(app, email, 9)
    challenge_id = _challenge(app, email)
    from ciq.store import auth_store

    get_failures, raced, answers = auth_store.get_verify_failures, [], []

    def racing(email_key: str) -> auth_store.VerifyFailures:
        record = get_failures(email_key)
        if not raced and record.failures == 9:
            raced.append(True)
            answers.append(_verify_elsewhere(_challenge_elsewhere(email), WRONG))
        return record

    monkeypatch.setattr(auth_store, "get_verify_failures", racing)
    # When this verify (the right code) writes its stale count
    status, _, code = _verify(app, challenge_id, RIGHT)
    # Then its write was refused, the count read again, and it met the lock the other one set
    assert [a[::2] for a in answers] == [(400, "invalid_code")]
    assert (status, code) == (429, "verification_locked")
