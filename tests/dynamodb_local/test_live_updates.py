"""Delta reads and live-update items against DynamoDB Local: the engine refuses what moto lets pass
(a Query filter on a key attribute was one), so the store's calls are checked here too."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ciq.domain.defaults import add_workspace
from ciq.store import live_store, user_store
from tests.dynamodb_local.accounts import context, defaults_for, new_user_id

if TYPE_CHECKING:
    from tests.dynamodb_local.conftest import LocalTable

pytestmark = pytest.mark.dynamodb_local


def test_a_delta_read_returns_the_root_and_only_the_workspaces_written_after_since(
    local_table: LocalTable,
) -> None:
    # Given an account written at version 1 (ws-1), then 2 (ws-2 added)
    user_id = new_user_id()
    account = defaults_for(user_id)
    user_store.save(None, account)
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    add_workspace(account, context(user_id), workspace_id="ws-2", name="Second", group_id="default")
    assert user_store.save(snapshot, account) == 2
    # When a client holding version 1 asks what changed
    changed = user_store.load_changed_since(user_id, 1)
    # Then the engine answers the root and ws-2 alone
    assert changed is not None
    assert changed.version == 2
    assert changed.root.workspace_order == ["ws-1", "ws-2"]
    assert [record.workspace.id for record in changed.workspaces] == ["ws-2"]
    # And from version 0 both workspaces, from 2 none
    from_zero, from_two = user_store.load_changed_since(user_id, 0), user_store.load_changed_since(user_id, 2)
    assert from_zero is not None and from_two is not None
    assert [record.workspace.id for record in from_zero.workspaces] == ["ws-1", "ws-2"]
    assert from_two.workspaces == []
    assert user_store.load_changed_since(new_user_id(), 0) is None


def test_a_ticket_is_taken_once_and_connections_are_listed_and_deleted(local_table: LocalTable) -> None:
    user_id = new_user_id()
    live_store.put_ticket("hash-1", user_id, 2_000_000_000)
    assert live_store.take_ticket("hash-1") == (user_id, 2_000_000_000)
    assert live_store.take_ticket("hash-1") is None
    live_store.put_connection(user_id, "conn-1=", 2_000_000_000)
    live_store.put_connection(user_id, "conn-2=", 2_000_000_000)
    assert {c.connection_id for c in live_store.connections(user_id)} == {"conn-1=", "conn-2="}
    assert live_store.connection_owner("conn-1=") == user_id
    live_store.delete_connection(user_id, "conn-1=")
    live_store.delete_connection(user_id, "conn-1=")  # again: no error
    assert [c.connection_id for c in live_store.connections(user_id)] == ["conn-2="]
    assert live_store.connection_owner("conn-1=") is None
