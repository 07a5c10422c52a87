"""The write flow and the write-path services on the in-memory unit of work (tests/fakes.py): no
moto, no network, milliseconds per test. The DynamoDB adapter and the handlers keep their tests
on moto and DynamoDB Local (tests/integration, tests/dynamodb_local)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ciq.errors import ConcurrentModification, DependencyUnavailable, IdempotencyKeyReused, VersionMismatch
from ciq.services import setup_status, user_data
from ciq.services.writes import IdempotencyRequest, WriteRequest, Written
from ciq.web import render
from tests.fakes import FakeUnitOfWork

USER = "u-1"
CREATE = {"type": "workspace.create", "name": "New"}


@pytest.fixture
def uow() -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    fake.add_user(USER)
    return fake


def names(uow: FakeUnitOfWork) -> list[str]:
    return [w.name for w in uow.accounts[USER].account.workspaces]


def post(uow: FakeUnitOfWork, payload: object, **request: Any) -> Written[user_data.DataAnswer]:
    request_ = WriteRequest(USER, "s-1", **request)
    return user_data.mutate(uow, request_, payload, render.data_answer, minimal=False)


def test_a_write_returns_domain_values_and_commits_once(uow: FakeUnitOfWork) -> None:
    # Given a new user; When a workspace is created
    written = post(uow, CREATE)
    # Then the answer is the data at version 1 with the result, stored once, nothing recorded
    assert written.answer is not None and written.recorded is None
    assert (written.version, written.created, written.replayed) == (1, False, False)
    assert written.answer.results is not None and written.answer.results[0]["type"] == "workspace.create"
    assert names(uow) == ["My Workspace", "New"] and uow.commits == 1


def test_an_idempotency_key_replays_the_recorded_answer(uow: FakeUnitOfWork) -> None:
    # Given a write with an Idempotency-Key
    key = IdempotencyRequest("k", "r")
    first = post(uow, CREATE, idempotency=key)
    # When the same request comes again; Then the recorded bytes are answered and nothing is applied
    again = post(uow, CREATE, idempotency=key)
    assert again.replayed and again.recorded == first.recorded and again.version == first.version
    assert json.loads(again.recorded or b"")["version"] == 1
    assert names(uow) == ["My Workspace", "New"] and uow.commits == 1
    # And the key with another request is refused
    with pytest.raises(IdempotencyKeyReused):
        post(uow, CREATE, idempotency=IdempotencyRequest("k", "other"))


def test_a_lost_reply_of_a_landed_commit_is_answered_as_success_once(uow: FakeUnitOfWork) -> None:
    # Given a store that commits, then loses the reply
    uow.lose_reply_of_next_commit = True
    # When a workspace is created; Then the write is answered and applied exactly once
    assert post(uow, CREATE).version == 1
    assert names(uow) == ["My Workspace", "New"] and uow.commits == 1


def test_a_lost_race_is_re_applied_on_the_new_version(uow: FakeUnitOfWork) -> None:
    # Given another writer that commits between our read and our commit, once
    uow.before_commit.append(lambda fake: fake.bump(USER))
    # When a workspace is created; Then it is applied again on the fresh read, once
    assert post(uow, CREATE).version == 2
    assert names(uow).count("New") == 1


def test_a_pinned_version_is_never_re_applied(uow: FakeUnitOfWork) -> None:
    # Given version 1 and a race before the commit; When a write pins version 1; Then 412
    post(uow, CREATE)
    uow.before_commit.append(lambda fake: fake.bump(USER))
    with pytest.raises(VersionMismatch):
        post(uow, {"type": "group.create", "name": "G"}, if_match=1)


def test_a_conflict_that_never_clears_is_409(uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a store where every commit loses a race, and a short retry window
    from ciq.settings import reset_settings

    monkeypatch.setenv("WRITE_RETRY_SECONDS", "0.05")
    reset_settings()
    uow.before_commit.extend([lambda fake: fake.bump(USER)] * 100)
    # When a write is sent; Then it ends in 409 with Retry-After
    with pytest.raises(ConcurrentModification) as raised:
        post(uow, CREATE)
    assert raised.value.headers["Retry-After"] == "1"
    monkeypatch.undo()
    reset_settings()


def test_a_failed_commit_that_did_not_land_stays_503(uow: FakeUnitOfWork) -> None:
    # Given a store that is down before it writes anything
    def down(_: FakeUnitOfWork) -> None:
        raise DependencyUnavailable("down")

    uow.before_commit.append(down)
    # When a write is sent; Then it is 503 and nothing is stored
    with pytest.raises(DependencyUnavailable):
        post(uow, CREATE)
    assert uow.commits == 0


def test_a_minimal_answer_carries_the_state_before(uow: FakeUnitOfWork) -> None:
    # Given version 1; When a group is created asking for a minimal answer
    post(uow, CREATE)
    written = user_data.mutate(
        uow, WriteRequest(USER), {"type": "group.create", "name": "G"}, render.data_answer, minimal=True
    )
    # Then the edge renders only the change, against version 1
    body = json.loads(render.data_answer(written.answer))  # type: ignore[arg-type]
    assert (body["baseVersion"], body["version"]) == (1, 2)
    assert [g["name"] for g in body["changed"]["groups"]] == ["G"]
    assert "workspaces" not in body["changed"] and body["removed"] == []


def test_setup_status_is_written_for_the_calling_session(uow: FakeUnitOfWork) -> None:
    # Given a user; When session s-1 dismisses Get Started
    dismiss = {"type": "dismissForSession"}
    written = setup_status.mutate(uow, WriteRequest(USER, "s-1"), dismiss, render.setup_status)
    # Then the answer is the status model (hidden for that session) and the fact is stored
    assert written.answer is not None and written.answer.dismissed_for_session
    assert uow.accounts[USER].account.setup.dismissed_sessions == ["s-1"]


class _Context:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_a_lost_race_without_time_left_is_503_and_stores_nothing(uow: FakeUnitOfWork) -> None:
    # Given a request with 2.5 s left and another writer that wins the race
    from ciq import budget

    uow.before_commit.append(lambda fake: fake.bump(USER))
    # When a workspace is created; Then no second attempt starts: 503 with Retry-After, nothing stored
    with budget.started(_Context(2.5)), pytest.raises(DependencyUnavailable) as raised:
        post(uow, CREATE)
    assert raised.value.headers["Retry-After"] == "1"
    assert uow.commits == 0


@pytest.mark.parametrize("seconds", [0.3, 0.5, 0.99, 1.0, 2.7, 4.0, 6.99, 7.0, 9.5, 30.0])
def test_each_call_fits_the_time_left(seconds: float) -> None:
    # Given the time a request has left; Then one call's attempts (each connect + read) fit in it,
    # and a client's retries beyond the first attempt are only those of the default limits
    from ciq.store.clients import DEFAULT_LIMITS, limits

    limit = limits(seconds)
    assert limit == DEFAULT_LIMITS or limit.attempts * (limit.connect + limit.read) <= seconds
    assert limit == DEFAULT_LIMITS or limit.attempts == 1


def test_no_call_starts_when_the_budget_is_spent() -> None:
    from ciq.store.clients import limits

    with pytest.raises(DependencyUnavailable):
        limits(0.29)
