"""The user-data write flow (server-side retry of intent-based mutations, If-Match, first reads)
on DynamoDB Local, which isolates transactions like DynamoDB does. The racing requests run the
handler's own service calls from threads (tests/user_data_service.py), as concurrent requests run in
separate sandboxes on AWS; set-up and final reads go through the real handler."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ciq.contracts.entities import Profile
from ciq.domain.account import Account
from ciq.store import dynamo, user_store
from tests import user_data_service as service
from tests.conftest import api_event, invoke, load_function
from tests.dynamodb_local.accounts import NOW, new_user_id

pytestmark = pytest.mark.dynamodb_local
WRITERS = 6


def verified_user() -> str:
    """What a verified sign-up leaves: the root with the profile only."""
    user_id = new_user_id()
    profile = Profile(user_id=user_id, email=f"{user_id}@example.com", created_at=NOW)
    dynamo.transact([user_store.new_user_item(Account(user_id=user_id, profile=profile))])
    return user_id


def call_at_once(count: int, request: Any) -> list[tuple[int, dict[str, str], Any]]:
    start = threading.Barrier(count)

    def one(n: int) -> tuple[int, dict[str, str], Any]:
        start.wait()
        return request(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_mutations_all_land(local_table: None) -> None:
    # Given a user whose defaults exist
    app = load_function("user_data")
    user_id = verified_user()
    assert invoke(app, api_event("user-data-get", user_id=user_id))[0] == 200

    # When 6 clients each create a workspace at the same moment, without If-Match
    def create(n: int) -> tuple[int, dict[str, str], Any]:
        body = {"type": "workspace.create", "id": f"ws-writer-{n}", "name": f"Writer {n}"}
        return service.post(
            api_event("user-data-post", body=body, user_id=user_id, headers={"Idempotency-Key": f"k{n}"})
        )

    answers = call_at_once(WRITERS, create)

    # Then every one succeeds with its own version, and the account holds all six workspaces
    assert [status for status, _, _ in answers] == [200] * WRITERS
    assert sorted(body["version"] for _, _, body in answers) == list(range(2, 2 + WRITERS))
    _, headers, body = invoke(app, api_event("user-data-get", user_id=user_id))
    assert headers["ETag"] == f'"{1 + WRITERS}"'
    names = {w["name"] for w in body["data"]["workspaces"]}
    assert names == {"My Workspace", *(f"Writer {n}" for n in range(WRITERS))}


def test_concurrent_if_match_writes_one_wins_the_rest_get_412(local_table: None) -> None:
    # Given an account at version 1
    app = load_function("user_data")
    user_id = verified_user()
    invoke(app, api_event("user-data-get", user_id=user_id))

    # When 6 clients rename the workspace at once, each pinned to version 1
    def rename(n: int) -> tuple[int, dict[str, str], Any]:
        body = {"type": "workspace.update", "workspaceId": "ws-1", "name": f"Name {n}"}
        return service.post(
            api_event(
                "user-data-post",
                body=body,
                user_id=user_id,
                headers={"If-Match": '"1"', "Idempotency-Key": f"rename-{n}"},
            ),
        )

    answers = call_at_once(WRITERS, rename)
    statuses = sorted(status for status, _, _ in answers)

    # Then exactly one lands and the others are told the version moved
    assert statuses == [200] + [412] * (WRITERS - 1), answers
    assert invoke(app, api_event("user-data-get", user_id=user_id))[1]["ETag"] == '"2"'


def test_concurrent_first_reads_create_one_copy_of_the_defaults(local_table: None) -> None:
    # Given a verified user who has never read their data
    user_id = verified_user()

    # When 6 first reads race
    answers = call_at_once(WRITERS, lambda _: service.get(api_event("user-data-get", user_id=user_id)))

    # Then all see the same single set of defaults at version 1
    assert {status for status, _, _ in answers} == {200}
    assert {headers["ETag"] for _, headers, _ in answers} == {'"1"'}
    for _, _, body in answers:
        assert [w["id"] for w in body["data"]["workspaces"]] == ["ws-1"]
        assert [a["id"] for a in body["data"]["agents"]] == ["agent-default-1"]


def test_concurrent_scoped_writes_to_different_workspaces_all_land(local_table: None) -> None:
    # Given an account of five workspaces and seven KBs
    app = load_function("user_data")
    user_id = verified_user()
    invoke(app, api_event("user-data-get", user_id=user_id))
    for n in range(WRITERS):
        body = {"type": "knowledgeBase.create", "workspaceId": "ws-1", "id": f"kb-{n}"}
        if n % 3:
            body = {"type": "workspace.create", "id": f"ws-w{n}", "name": f"W{n}"}
        setup = {"Idempotency-Key": f"setup-{n}"}
        created = invoke(app, api_event("user-data-post", body=body, user_id=user_id, headers=setup))
        assert created[0] == 200, created
    _, _, body = invoke(app, api_event("user-data-get", user_id=user_id))
    kbs = [kb["id"] for kb in body["data"]["knowledgeBases"]]
    start = body["version"]

    # When 6 clients each rename another KB at once, answered minimally (each loads its workspace)
    def rename(n: int) -> tuple[int, dict[str, str], Any]:
        body = {"type": "knowledgeBase.update", "knowledgeBaseId": kbs[n % len(kbs)], "name": f"Renamed {n}"}
        headers = {"Prefer": "return=minimal", "Idempotency-Key": f"scoped-{n}"}
        return service.post(api_event("user-data-post", body=body, user_id=user_id, headers=headers))

    answers = call_at_once(WRITERS, rename)

    # Then every one lands with its own version, and the data holds every rename
    assert [status for status, _, _ in answers] == [200] * WRITERS, answers
    assert sorted(body["version"] for _, _, body in answers) == list(range(start + 1, start + 1 + WRITERS))
    _, _, after = invoke(app, api_event("user-data-get", user_id=user_id))
    names = {kb["id"]: kb["name"] for kb in after["data"]["knowledgeBases"]}
    assert {names[kbs[n % len(kbs)]] for n in range(WRITERS)} == {f"Renamed {n}" for n in range(WRITERS)}
    assert after["version"] == start + WRITERS
