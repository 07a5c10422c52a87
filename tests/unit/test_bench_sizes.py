"""The bench's capacity arithmetic (bench/sizes.py) and its stub's 1 MB Query pages: the figures of
docs/performance.md rest on them. No timing is asserted anywhere in the suite."""

from __future__ import annotations

from bench.sizes import get_rcu, item_size, query_rcu, write_wcu
from bench.stub import StubDynamoDB


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
