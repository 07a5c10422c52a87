"""The local run serves requests concurrently (as API Gateway does), and concurrent conditional
writes on the embedded DynamoDB still behave like DynamoDB: exactly one of them wins."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from tests.http.conftest import LOOPBACK_ONLY

if TYPE_CHECKING:
    from tests.http.conftest import Throwaway

pytestmark = LOOPBACK_ONLY


def parallel_statuses(throwaway: Throwaway, method: str, paths: list[str]) -> list[int]:
    with throwaway.server.client() as client, ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(lambda path: client.request(method, path).status_code, paths))


def test_many_requests_are_inside_handlers_at_the_same_time(throwaway: Throwaway) -> None:
    # Given a handler that waits (up to 10 s) until 16 requests are inside it at once
    group, parties = uuid.uuid4().hex, 16
    # When 16 requests arrive together
    statuses = parallel_statuses(
        throwaway, "GET", [f"/public/barrier?group={group}&parties={parties}"] * parties
    )
    # Then all of them complete: a server taking one request at a time would time out the barrier
    assert statuses == [200] * parties


@pytest.mark.parametrize("mode", ["put", "update", "transact"])
def test_concurrent_conditional_writes_have_exactly_one_winner(throwaway: Throwaway, mode: str) -> None:
    # Given 8 writers that meet at a barrier, then all try to claim the same key with a condition
    # (attribute_not_exists), as PutItem, UpdateItem or TransactWriteItems; several rounds
    writers, rounds = 8, 5
    for _ in range(rounds):
        key, group = uuid.uuid4().hex, uuid.uuid4().hex
        path = f"/public/claim/{key}?mode={mode}&group={group}&parties={writers}"
        # When they write at the same moment through the local API
        statuses = parallel_statuses(throwaway, "POST", [path] * writers)
        # Then exactly one wins and the others see the condition fail (no crash, no double win)
        assert sorted(statuses) == [201] + [409] * (writers - 1), statuses
