"""The local run serves requests concurrently (as API Gateway does), but runs handlers one
invocation at a time per process, as a Lambda sandbox does: Powertools keeps the request being
handled on class attributes shared by every function of the process (local/functions.py), so two
handlers at once could answer one request with the other's event. Races between conditional
writes are tested where they happen on AWS, at the store (tests/dynamodb_local/test_concurrency.py)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

from tests.http.conftest import LOOPBACK_ONLY, clean_env, started

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from tests.http.conftest import LocalServer, Throwaway

pytestmark = LOOPBACK_ONLY


def parallel(throwaway: Throwaway, method: str, paths: list[str]) -> list[httpx.Response]:
    """Every path on its own connection, all sent at once."""

    def call(path: str) -> httpx.Response:
        with throwaway.server.client() as client:
            return client.request(method, path)

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(call, paths))


def test_two_concurrent_requests_are_never_inside_handlers_at_the_same_time(throwaway: Throwaway) -> None:
    # Given a handler that waits up to 1 s for a second invocation to be inside a handler with it
    group = uuid.uuid4().hex
    # When two requests arrive together, each on its own connection
    answers = parallel(throwaway, "GET", [f"/public/barrier?group={group}&parties=2&timeout=1"] * 2)
    # Then both are answered, and neither ever had the other inside a handler at the same time
    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.json()["met"] for answer in answers] == [False, False]
    assert len({answer.json()["requestId"] for answer in answers}) == 2


def test_the_server_answers_others_while_a_handler_runs(throwaway: Throwaway) -> None:
    # Given a request whose handler takes 1.3 s
    slow = threading.Thread(target=lambda: parallel(throwaway, "GET", ["/public/slow"]), daemon=True)
    slow.start()
    time.sleep(0.3)
    # When a document of the local run (no handler) and a path with no route are asked meanwhile
    started = time.monotonic()
    with throwaway.server.client() as client:
        document = client.get("/openapi.json")
        no_route = client.get("/nothing-here")
    elapsed = time.monotonic() - started
    slow.join(10)
    # Then they are answered at once, without waiting for the handler: only handlers queue
    assert document.status_code == 200
    assert no_route.status_code == 404
    assert elapsed < 0.8, elapsed


@pytest.mark.parametrize("mode", ["put", "update", "transact"])
def test_concurrent_conditional_claims_have_exactly_one_winner(throwaway: Throwaway, mode: str) -> None:
    # Given 8 clients that all try to claim the same key with a condition (attribute_not_exists), as
    # PutItem, UpdateItem or TransactWriteItems; several rounds
    writers, rounds = 8, 5
    for _ in range(rounds):
        key = uuid.uuid4().hex
        # When they send their claims at the same moment through the local API
        answers = parallel(throwaway, "POST", [f"/public/claim/{key}?mode={mode}"] * writers)
        # Then exactly one wins and the others see the condition fail (no crash, no double win)
        statuses = [answer.status_code for answer in answers]
        assert sorted(statuses) == [201] + [409] * (writers - 1), statuses


def _sign_up(server: LocalServer, first_name: str) -> str:
    email = f"{first_name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    profile = {"firstName": first_name, "lastName": "Tester", "email": email, "company": "Engines",
               "phone": "+14155550123"}  # fmt: skip
    with server.client() as client:
        challenge = client.post("/api/auth/sign-up", json=profile).json()["challengeId"]
        verified = client.post("/api/auth/verify", json={"challengeId": challenge, "code": "123456"})
    assert verified.status_code == 200, verified.text
    return str(verified.json()["token"])


@pytest.fixture(scope="module")
def product_api() -> Iterator[LocalServer]:
    """The real template and functions, on the in-memory store (quicker to start than DynamoDB Local)."""
    server = started(clean_env(PORT="0"))
    yield server
    server.stop()


def test_concurrent_requests_of_two_users_each_get_their_own_data(product_api: LocalServer) -> None:
    # Given two users of the real API
    server = product_api
    tokens = {name: _sign_up(server, name) for name in ("Ada", "Grace")}

    # When both read their data many times at once, on 12 connections
    def read(i: int) -> tuple[str, dict[str, Any]]:
        name = ("Ada", "Grace")[i % 2]
        with server.client() as client:
            answer = client.get("/api/user-data", headers={"Authorization": f"Bearer {tokens[name]}"})
        assert answer.status_code == 200, answer.text
        return name, answer.json()["data"]["profile"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        reads = list(pool.map(read, range(240)))
    # Then every answer is its caller's own profile
    assert [profile["firstName"] for _, profile in reads] == [name for name, _ in reads]
