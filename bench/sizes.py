"""DynamoDB item sizes and capacity units by DynamoDB's published rules (moto reports none):
reads 4 KB per RCU (strongly consistent; half for eventually consistent), Query sums the page's
item sizes before rounding, GetItem, BatchGetItem and TransactGetItems round each item on its own
(a missing item still costs the minimum); writes 1 KB per WCU per item, the larger of the old and
new item; transactional reads and writes cost twice."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

READ_UNIT = 4096
WRITE_UNIT = 1024


def value_size(value: dict[str, Any]) -> int:
    kind, data = next(iter(value.items()))
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        digits = str(Decimal(str(data)).normalize()).lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in data.items())
    if kind == "SS":
        return sum(len(str(v).encode()) for v in data)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in data)
    if kind == "BS":
        return sum(len(v) for v in data)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def query_rcu(items: list[dict[str, Any]], consistent: bool) -> float:
    units = max(1, math.ceil(sum(item_size(i) for i in items) / READ_UNIT))
    return units if consistent else units / 2


def get_rcu(item: dict[str, Any] | None, consistent: bool) -> float:
    units = max(1, math.ceil(item_size(item) / READ_UNIT)) if item else 1
    return units if consistent else units / 2


def batch_get_rcu(items: Sequence[dict[str, Any] | None], consistent: bool) -> float:
    """One table's part of a BatchGetItem (ConsistentRead is per table): each requested item
    rounded up to 4 KB on its own, as if read by a GetItem; None for a key with no item."""
    return sum(get_rcu(item, consistent) for item in items)


def transact_get_rcu(items: Sequence[dict[str, Any] | None]) -> float:
    """TransactGetItems (or a transaction's ConditionCheck): strongly consistent, twice the units."""
    return 2 * sum(get_rcu(item, consistent=True) for item in items)


def write_wcu(new: dict[str, Any] | None, old: dict[str, Any] | None, transactional: bool) -> int:
    size = max(item_size(new) if new else 0, item_size(old) if old else 0)
    units = max(1, math.ceil(size / WRITE_UNIT))
    return units * 2 if transactional else units


def blob_wcu(size_bytes: int, transactional: bool) -> int:
    units = max(1, math.ceil(size_bytes / WRITE_UNIT))
    return units * 2 if transactional else units
