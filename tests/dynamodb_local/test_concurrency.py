"""No lost update: concurrent read-modify-write cycles with optimistic locking, against DynamoDB Local.

Not against moto: its TransactWriteItems takes no lock, checks the conditions and writes item by
item, and on a cancellation restores a copy of the whole table taken before it started, so under
threads it loses updates now and then (seen in about 1 run of 4-10 with 8 writers). See
docs/ops/dynamodb-local.md."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ciq.contracts.entities import Group
from ciq.store import user_store
from ciq.store.clients import dynamodb
from ciq.store.errors import VersionConflict
from tests.dynamodb_local.accounts import defaults_for, new_user_id

WRITERS = 8
MAX_ATTEMPTS = 200


def add_group_with_retry(user_id: str, n: int, start: threading.Barrier) -> tuple[int, int]:
    """load -> add one group -> save, again on a version conflict. Returns (version, conflicts)."""
    start.wait()
    for conflicts in range(MAX_ATTEMPTS):
        snapshot = user_store.load(user_id)
        assert snapshot is not None
        snapshot.account.groups.append(Group(id=f"grp-{n}", name=f"Writer {n}"))
        try:
            return user_store.save(snapshot, snapshot.account), conflicts
        except VersionConflict:
            continue
    raise AssertionError(f"writer {n} lost {MAX_ATTEMPTS} races in a row")


@pytest.mark.dynamodb_local
def test_concurrent_writers_lose_no_update(local_table: None) -> None:
    # Given an account at its initial version
    user_id = new_user_id()
    initial = user_store.save(None, defaults_for(user_id))
    dynamodb()  # one shared client, created before the threads start

    # When 8 writers each add their own group at the same moment, retrying on version conflicts
    start = threading.Barrier(WRITERS)
    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [pool.submit(add_group_with_retry, user_id, n, start) for n in range(WRITERS)]
        outcomes = [future.result(timeout=120) for future in futures]

    # Then every write got its own version, one after the other, and all 8 groups are there
    versions = sorted(version for version, _ in outcomes)
    assert versions == list(range(initial + 1, initial + WRITERS + 1))
    final = user_store.load(user_id)
    assert final is not None
    assert final.version == initial + WRITERS
    assert sorted(g.id for g in final.account.groups) == sorted(
        ["default", *(f"grp-{n}" for n in range(WRITERS))]
    )
