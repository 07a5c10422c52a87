"""The user store against DynamoDB Local: transactions, conditions, rollback, compression and torn
reads as the real engine does them (moto is lenient about some of these; see docs/ops/dynamodb-local.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from ciq.domain.defaults import add_workspace
from ciq.errors import AggregateTooLarge, ConcurrentModification, PayloadTooLarge
from ciq.store import keys, user_store
from ciq.store.clients import dynamodb
from ciq.store.codec import COMPRESS_FROM_BYTES, MAX_BODY_BYTES
from ciq.store.dynamo import MAX_TRANSACTION_BYTES, query_all, table
from ciq.store.errors import ConditionFailed, VersionConflict
from tests.dynamodb_local.accounts import (
    context,
    defaults_for,
    grow_workspace,
    new_user_id,
    stored_items,
    workspace_sks,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from ciq.domain.account import Account
    from tests.dynamodb_local.conftest import LocalTable

pytestmark = pytest.mark.dynamodb_local

ROOT = keys.ROOT_SK
WS1 = keys.workspace_sk("ws-1")
WS2 = keys.workspace_sk("ws-2")


@pytest.fixture
def calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DynamoDB call the store's client makes during the test: (operation, parameters)."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, params))

    client = dynamodb()
    client.meta.events.register("provide-client-params.dynamodb", record)
    yield seen
    client.meta.events.unregister("provide-client-params.dynamodb", record)


def transactions(calls: list[tuple[str, dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    return [params["TransactItems"] for op, params in calls if op == "TransactWriteItems"]


def with_second_workspace(user_id: str) -> Account:
    account = defaults_for(user_id)
    add_workspace(account, context(user_id), workspace_id="ws-2", name="Second", group_id="default")
    return account


def idempotency_put(user_id: str, key_hash: str) -> TransactWriteItemTypeDef:
    """An idempotency-style record: written only if no request with this key came first."""
    return {
        "Put": {
            "TableName": table(),
            "Item": {
                "pk": {"S": keys.user_pk(user_id)},
                "sk": {"S": keys.idempotency_sk(key_hash)},
                "status": {"S": "done"},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def test_the_store_talks_to_dynamodb_local(local_table: LocalTable) -> None:
    # Given the per-test table and the environment the fixture set up
    # When the store's own client lists the tables
    tables = dynamodb().list_tables()["TableNames"]
    # Then it reached DynamoDB Local (not moto) and sees the table created from template.yaml
    assert dynamodb().meta.endpoint_url == local_table.endpoint_url
    assert local_table.name in tables
    ttl = local_table.client.describe_time_to_live(TableName=local_table.name)["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == "ttl"


def test_defaults_are_created_and_read_back_equal(local_table: LocalTable) -> None:
    # Given a user without any item
    user_id = new_user_id()
    account = defaults_for(user_id)
    assert user_store.load(user_id) is None

    # When the defaults are saved as a new account
    version = user_store.save(None, account)

    # Then one root and one workspace item exist at version 1, and a load gives the same account
    assert version == 1
    items = stored_items(local_table.client, local_table.name, user_id)
    assert set(items) == {ROOT, WS1, "D#INDEX"}
    assert items[ROOT]["version"] == {"N": "1"}
    assert items[WS1]["v"] == {"N": "1"}
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    assert snapshot.version == 1
    assert snapshot.workspace_versions == {"ws-1": 1}
    assert snapshot.account == account


def test_a_second_create_for_the_same_user_conflicts(local_table: LocalTable) -> None:
    # Given a user whose defaults were created by a first request
    user_id = new_user_id()
    first = defaults_for(user_id)
    user_store.save(None, first)

    # When a second request that also saw "no account" creates defaults (with a different group name)
    second = defaults_for(user_id)
    second.groups[0].name = "Created twice"
    with pytest.raises(VersionConflict):
        user_store.save(None, second)

    # Then the first creation stands, untouched
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    assert snapshot.version == 1
    assert snapshot.account == first


def test_of_two_writers_the_first_wins_and_the_second_writes_nothing(local_table: LocalTable) -> None:
    # Given an account with two workspaces, read by two requests
    user_id = new_user_id()
    user_store.save(None, with_second_workspace(user_id))
    a, b = user_store.load(user_id), user_store.load(user_id)
    assert a is not None and b is not None
    before = stored_items(local_table.client, local_table.name, user_id)

    # When each changes a different workspace, and A saves first
    a.account.workspace("ws-1").name = "Renamed by A"
    b.account.workspace("ws-2").name = "Renamed by B"
    assert user_store.save(a, a.account) == 2

    # Then B's save is a version conflict
    with pytest.raises(VersionConflict):
        user_store.save(b, b.account)

    # And nothing of B was written: ws-2 is byte for byte as before, the root carries A's version
    after = stored_items(local_table.client, local_table.name, user_id)
    assert after[WS2] == before[WS2]
    assert after[ROOT]["version"] == {"N": "2"}
    assert after[WS1]["v"] == {"N": "2"}
    final = user_store.load(user_id)
    assert final is not None
    assert final.account.workspace("ws-1").name == "Renamed by A"
    assert final.account.workspace("ws-2").name == "Second"


@pytest.mark.parametrize("failing_position", [1, 2], ids=["only-extra-item", "second-extra-item"])
def test_a_failed_extra_condition_names_its_item_and_rolls_everything_back(
    local_table: LocalTable, failing_position: int
) -> None:
    # Given an account and an idempotency record that an earlier request already wrote
    user_id = new_user_id()
    user_store.save(None, defaults_for(user_id))
    local_table.client.put_item(
        TableName=local_table.name,
        Item={"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": keys.idempotency_sk("seen")}},
    )
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    before = stored_items(local_table.client, local_table.name, user_id)

    # When a write changes the account and also claims that key (after a fresh one, in the second case)
    snapshot.account.workspace("ws-1").name = "Should not be stored"
    snapshot.account.groups[0].name = "Should not be stored"
    extra = [idempotency_put(user_id, "seen")]
    if failing_position == 2:
        extra.insert(0, idempotency_put(user_id, "fresh"))
    with pytest.raises(ConditionFailed) as failure:
        user_store.save(snapshot, snapshot.account, extra_items=extra)

    # Then the error names the failed item's position in the transaction (the root is item 0)
    assert failure.value.index == failing_position
    # And nothing was written: no root or workspace change, and no "fresh" record either
    assert stored_items(local_table.client, local_table.name, user_id) == before


def test_extra_items_whose_conditions_hold_are_written_with_the_account(local_table: LocalTable) -> None:
    # Given an account
    user_id = new_user_id()
    user_store.save(None, defaults_for(user_id))
    snapshot = user_store.load(user_id)
    assert snapshot is not None

    # When a change is saved together with a new idempotency record
    snapshot.account.groups[0].name = "Renamed"
    version = user_store.save(snapshot, snapshot.account, extra_items=[idempotency_put(user_id, "new")])

    # Then both are stored, in the same write
    items = stored_items(local_table.client, local_table.name, user_id)
    assert version == 2
    assert items[keys.idempotency_sk("new")]["status"] == {"S": "done"}
    loaded = user_store.load(user_id)
    assert loaded is not None
    assert loaded.account.groups[0].name == "Renamed"


def test_only_changed_workspace_items_are_written(
    local_table: LocalTable, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    # Given an account with two workspaces, both written at version 1
    user_id = new_user_id()
    user_store.save(None, with_second_workspace(user_id))
    items = stored_items(local_table.client, local_table.name, user_id)
    assert (items[WS1]["v"], items[WS2]["v"]) == ({"N": "1"}, {"N": "1"})

    # When only ws-2 changes (version 2), then only the profile (version 3)
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    snapshot.account.workspace("ws-2").description = "changed"
    assert user_store.save(snapshot, snapshot.account) == 2
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    snapshot.account.profile.company = "Acme"
    assert user_store.save(snapshot, snapshot.account) == 3

    # Then ws-1 was never rewritten, ws-2 only at version 2, and the root's manifest says so
    items = stored_items(local_table.client, local_table.name, user_id)
    assert items[ROOT]["version"] == {"N": "3"}
    assert items[WS1]["v"] == {"N": "1"}
    assert items[WS2]["v"] == {"N": "2"}
    written = [[next(iter(item.values()))["Item"]["sk"]["S"] for item in tx] for tx in transactions(calls)]
    # the creation (with the id index), then the two changes (no id came or went)
    assert written == [[ROOT, WS1, WS2, "D#INDEX"], [ROOT, WS2], [ROOT]]
    final = user_store.load(user_id)
    assert final is not None
    assert final.workspace_versions == {"ws-1": 1, "ws-2": 2}
    assert final.account.profile.company == "Acme"
    assert final.account.workspace("ws-2").description == "changed"


def test_deleting_a_workspace_deletes_its_item(local_table: LocalTable) -> None:
    # Given an account with two workspaces
    user_id = new_user_id()
    user_store.save(None, with_second_workspace(user_id))
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    assert WS2 in stored_items(local_table.client, local_table.name, user_id)

    # When ws-2 and everything in it are removed and the account is saved
    account = snapshot.account
    account.workspaces = [w for w in account.workspaces if w.id != "ws-2"]
    account.knowledge_bases = [kb for kb in account.knowledge_bases if kb.workspace_id != "ws-2"]
    account.agents = [a for a in account.agents if a.workspace_id != "ws-2"]
    user_store.save(snapshot, account)

    # Then its item is gone, ws-1 was not rewritten, and a load no longer has it
    items = stored_items(local_table.client, local_table.name, user_id)
    assert workspace_sks(items) == {WS1}
    assert items[WS1]["v"] == {"N": "1"}
    loaded = user_store.load(user_id)
    assert loaded is not None
    assert [w.id for w in loaded.account.workspaces] == ["ws-1"]
    assert loaded.workspace_versions == {"ws-1": 1}
    assert loaded.account == account


@pytest.mark.parametrize(
    "compressed_at_least",
    [COMPRESS_FROM_BYTES, MAX_BODY_BYTES - 8 * 1024],
    ids=["just-compressed", "near-the-limit"],
)
def test_a_large_workspace_is_stored_compressed_and_round_trips(
    local_table: LocalTable, compressed_at_least: int
) -> None:
    # Given an account whose workspace body needs compression (up to just under the store's limit)
    user_id = new_user_id()
    account = defaults_for(user_id)
    grow_workspace(account, "ws-1", compressed_at_least=compressed_at_least)

    # When it is saved (the real engine refuses items over 400 KB)
    user_store.save(None, account)

    # Then the workspace item holds compressed answer fragments (`pz`) or, when they would not fit,
    # one compressed body (`z`: it compresses better), never `j`; the small root stays plain JSON
    items = stored_items(local_table.client, local_table.name, user_id)
    body = items[WS1]
    assert "j" not in body
    stored = len(body["pz"]["B"]) + len(body["px"]["S"]) if "pz" in body else len(body["z"]["B"])
    assert compressed_at_least <= stored <= MAX_BODY_BYTES
    assert "j" in items[ROOT] and "z" not in items[ROOT]
    # And it reads back equal
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    assert snapshot.account == account


def test_a_body_over_the_limit_is_refused_before_any_call(
    local_table: LocalTable, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    # Given an account whose workspace is over the limit even compressed
    user_id = new_user_id()
    account = defaults_for(user_id)
    grow_workspace(account, "ws-1", compressed_at_least=MAX_BODY_BYTES + 1)

    # When it is saved
    with pytest.raises(AggregateTooLarge) as refused:
        user_store.save(None, account)

    # Then it is refused with a 413 and DynamoDB was never called; nothing is stored
    assert refused.value.status == 413
    assert calls == []
    assert stored_items(local_table.client, local_table.name, user_id) == {}


def account_with_big_workspaces(user_id: str, count: int) -> Account:
    """Defaults plus `count` workspaces, each just under the item limit compressed (random text)."""
    account = defaults_for(user_id)
    for n in range(count):
        workspace_id = f"ws-big-{n}"
        add_workspace(account, context(user_id), workspace_id=workspace_id, name="Big", group_id="default")
        grow_workspace(account, workspace_id, compressed_at_least=MAX_BODY_BYTES - 8 * 1024, seed=n)
    return account


def test_a_write_just_under_the_transaction_limit_is_accepted(local_table: LocalTable) -> None:
    # Given a new account of 10 workspaces of about 372 KB each (3.7 MB in one transaction)
    user_id = new_user_id()
    account = account_with_big_workspaces(user_id, 10)

    # When it is saved / Then the real engine accepts it, and it reads back equal
    assert user_store.save(None, account) == 1
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    assert snapshot.account == account


def test_a_write_over_the_transaction_limit_is_refused_before_any_call(
    local_table: LocalTable, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    # Given a new account of 11 such workspaces: every item is fine, but together they are over the
    # 4 MB that DynamoDB accepts in one transaction
    user_id = new_user_id()
    account = account_with_big_workspaces(user_id, 11)

    # When it is saved
    with pytest.raises(PayloadTooLarge) as refused:
        user_store.save(None, account)

    # Then it is a 413 (DynamoDB Local would answer a ValidationException, a 500), and nothing was sent
    assert refused.value.status == 413
    assert f"at most {MAX_TRANSACTION_BYTES // 1024} KB" in refused.value.message
    assert calls == []
    assert stored_items(local_table.client, local_table.name, user_id) == {}


def spy_on_reads(monkeypatch: pytest.MonkeyPatch, after_read: Any = None) -> list[int]:
    """Counts the store's Queries; `after_read(n)` runs after the n-th one has been consumed."""
    reads: list[int] = []

    def counting(**kwargs: Any) -> Iterator[dict[str, Any]]:
        reads.append(len(reads) + 1)
        yield from query_all(**kwargs)
        if after_read is not None:
            after_read(len(reads))

    monkeypatch.setattr("ciq.store.user_store.query_all", counting)
    return reads


def test_a_torn_read_is_retried_and_then_reported(
    local_table: LocalTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a root whose manifest says ws-1 is at version 1, and a ws-1 item at version 2 (a write
    # that is half visible, as a Query that runs during a transaction can see it)
    user_id = new_user_id()
    user_store.save(None, defaults_for(user_id))
    local_table.client.update_item(
        TableName=local_table.name,
        Key={"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": WS1}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    reads = spy_on_reads(monkeypatch)

    # When the account is loaded
    with pytest.raises(ConcurrentModification) as torn:
        user_store.load(user_id)

    # Then every attempt read again, and the caller is told to retry (409 with Retry-After)
    assert len(reads) == user_store.TORN_READ_RETRIES
    assert torn.value.status == 409
    assert torn.value.headers == {"Retry-After": "1"}


def test_a_missing_workspace_item_is_a_torn_read(local_table: LocalTable) -> None:
    # Given a root that lists ws-2, whose item is missing
    user_id = new_user_id()
    user_store.save(None, with_second_workspace(user_id))
    local_table.client.delete_item(
        TableName=local_table.name, Key={"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": WS2}}
    )

    # When the account is loaded / Then it is reported as being modified, not returned incomplete
    with pytest.raises(ConcurrentModification):
        user_store.load(user_id)


def test_a_torn_read_that_heals_is_read_again(
    local_table: LocalTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a root that already says ws-1 is at version 2 while the ws-1 item is still at version 1
    user_id = new_user_id()
    account = defaults_for(user_id)
    user_store.save(None, account)
    snapshot = user_store.load(user_id)
    assert snapshot is not None
    root = json.loads(stored_items(local_table.client, local_table.name, user_id)[ROOT]["j"]["S"])
    assert root["workspace_versions"] == {"ws-1": 1}
    root["workspace_versions"] = {"ws-1": 2}
    local_table.client.update_item(
        TableName=local_table.name,
        Key={"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": ROOT}},
        UpdateExpression="SET version = :v, j = :j",
        ExpressionAttributeValues={
            ":v": {"N": "2"},
            ":j": {"S": json.dumps(root)},
        },
    )

    def finish_the_write(read: int) -> None:  # the rest of the "transaction" lands after the first read
        if read == 1:
            local_table.client.update_item(
                TableName=local_table.name,
                Key={"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": WS1}},
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": "2"}},
            )

    reads = spy_on_reads(monkeypatch, finish_the_write)

    # When the account is loaded
    healed = user_store.load(user_id)

    # Then the second read is consistent and returned
    assert len(reads) == 2
    assert healed is not None
    assert healed.version == 2
    assert healed.workspace_versions == {"ws-1": 2}
    assert healed.account == account
