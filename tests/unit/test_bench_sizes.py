"""The bench's capacity arithmetic (bench/sizes.py, the read accounting of bench/warm.py) and its
stub (1 MB Query pages, BatchGetItem, TransactGetItems): the figures of docs/performance.md rest on
them. No timing is asserted anywhere in the suite."""

from __future__ import annotations

from typing import Any

from bench.sizes import batch_get_rcu, get_rcu, item_size, query_rcu, transact_get_rcu, write_wcu
from bench.stub import StubDynamoDB
from bench.warm import Meter, Usage


def test_item_size_follows_dynamodbs_rules() -> None:
    # names and strings count their UTF-8 bytes, numbers about one byte per two digits plus one
    assert item_size({"pk": {"S": "USER#u1"}}) == 2 + 7
    assert item_size({"version": {"N": "12345"}}) == 7 + 4
    assert item_size({"z": {"B": b"\0" * 100}}) == 1 + 100
    assert item_size({"ok": {"BOOL": True}}) == 2 + 1
    # lists and maps: 3 bytes plus one per element
    assert item_size({"m": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + 1 + 1 + 2


def test_capacity_units_round_up_per_request_or_item() -> None:
    small = {"pk": {"S": "p"}, "j": {"S": "x" * 1000}}
    assert write_wcu(small, None, transactional=False) == 1
    assert write_wcu(small, {"pk": {"S": "p"}, "j": {"S": "x" * 3000}}, transactional=True) == 2 * 3
    # a Query sums its items before rounding to 4 KB
    assert query_rcu([small] * 4, consistent=True) == 1
    assert query_rcu([small] * 5, consistent=True) == 2
    assert get_rcu(None, consistent=False) == 0.5


def test_stub_pages_a_query_at_one_megabyte() -> None:
    stub = StubDynamoDB()
    for n in range(3):
        stub.put_item(Item={"pk": {"S": "USER#u"}, "sk": {"S": f"D#WS#{n}"}, "z": {"B": b"\0" * 600_000}})
    query = {"ExpressionAttributeValues": {":pk": {"S": "USER#u"}, ":prefix": {"S": "D#"}}}

    first = stub.query(**query)
    second = stub.query(**query, ExclusiveStartKey=first["LastEvaluatedKey"])

    assert [len(first["Items"]), len(second["Items"])] == [2, 1]
    assert "LastEvaluatedKey" not in second


def _item(sk: str, filler: int) -> dict[str, Any]:
    return {"pk": {"S": "USER#u"}, "sk": {"S": sk}, "j": {"S": "x" * filler}}


def test_batch_get_rounds_each_item_on_its_own() -> None:
    # Given two items of about 1 KB and a key with no item
    small = [_item("D#WS#1", 1000), _item("D#WS#2", 1000)]

    # When a BatchGetItem reads them (ConsistentRead is per table)
    consistent = batch_get_rcu([*small, None], consistent=True)
    eventual = batch_get_rcu(small, consistent=False)

    # Then each item is rounded up to 4 KB alone (a Query would sum them into 1 unit), the missing
    # key still costs the minimum, and eventually consistent reads cost half
    assert consistent == 3
    assert eventual == 1
    assert query_rcu(small, consistent=True) == 1


def test_transactional_reads_cost_twice() -> None:
    # Given an item of 5 KB (2 units) and a missing one
    items = [_item("D#WS#1", 5000), None]

    # When TransactGetItems reads them
    units = transact_get_rcu(items)

    # Then every item costs twice its strongly consistent units
    assert units == 2 * (2 + 1)


def test_stub_serves_batch_and_transactional_gets() -> None:
    # Given a stub holding two items
    stub = StubDynamoDB()
    for sk in ("#ROOT", "D#WS#1"):
        stub.put_item(Item=_item(sk, 10))
    keys = [{"pk": {"S": "USER#u"}, "sk": {"S": sk}} for sk in ("#ROOT", "D#WS#9", "D#WS#1")]

    # When it is asked for three keys, one of them absent, in one batch and in one transaction
    batch = stub.batch_get_item(RequestItems={"t": {"Keys": keys, "ConsistentRead": True}})
    transaction = stub.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": k}} for k in keys])

    # Then the batch leaves out the missing key and has nothing unprocessed; the transaction answers
    # every key in order, {} for the missing one
    assert [i["sk"]["S"] for i in batch["Responses"]["t"]] == ["#ROOT", "D#WS#1"]
    assert batch["UnprocessedKeys"] == {}
    assert [r.get("Item", {}).get("sk", {}).get("S") for r in transaction["Responses"]] == [
        "#ROOT",
        None,
        "D#WS#1",
    ]
    assert stub.calls[-2:] == ["BatchGetItem", "TransactGetItems"]


def test_meter_charges_reads_on_the_stored_items_not_the_projection() -> None:
    # Given a stored root of 5 KB and a workspace item of 9 KB
    root, workspace = _item("#ROOT", 5000), _item("D#WS#1", 9000)
    before = {("USER#u", "#ROOT"): root, ("USER#u", "D#WS#1"): workspace}
    measured = Usage("edit")
    meter = Meter(measured, before)
    root_key = {"pk": root["pk"], "sk": root["sk"]}
    workspace_key = {"pk": workspace["pk"], "sk": workspace["sk"]}

    # When a GetItem projects the root's version and a consistent BatchGetItem reads the workspace
    meter.add(
        "GetItem",
        {"Key": root_key, "ProjectionExpression": "version", "ConsistentRead": True},
        {"Item": {"version": {"N": "3"}}},
    )
    meter.add(
        "BatchGetItem",
        {"RequestItems": {"t": {"Keys": [workspace_key], "ConsistentRead": True}}},
        {"Responses": {"t": [workspace]}, "UnprocessedKeys": {}},
    )

    # Then the GetItem costs the whole root's 2 units (DynamoDB counts the item, not the projection)
    # and the batch the workspace item's 3
    assert measured.calls == ["GetItem", "BatchGetItem"]
    assert measured.rcu == 2 + 3
