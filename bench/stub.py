"""A stand-in for the DynamoDB client that serves pre-encoded items from memory, so the handler's
own cost is measured without a network or moto. It keeps DynamoDB's 1 MB Query pages, and serves
GetItem, BatchGetItem, TransactGetItems and the writes (projections are not applied: whole items).
Installed for a run by replacing `ciq.store.clients.dynamodb` wherever a ciq module bound it;
production code is untouched."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bench.sizes import item_size

if TYPE_CHECKING:
    from collections.abc import Iterator

PAGE_BYTES = 1024 * 1024
Key = tuple[str, str]


class StubDynamoDB:
    def __init__(self, items: dict[Key, dict[str, Any]] | None = None) -> None:
        self.items: dict[Key, dict[str, Any]] = dict(items or {})
        self.calls: list[str] = []
        self._sorted: dict[str, list[str]] = {}
        self._sizes: dict[Key, int] = {}

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("Query")
        values = kwargs["ExpressionAttributeValues"]
        pk, prefix = values[":pk"]["S"], values.get(":prefix", {}).get("S", "")
        start = kwargs.get("ExclusiveStartKey", {}).get("sk", {}).get("S")
        page: list[dict[str, Any]] = []
        size = 0
        for sk in self._sort_keys(pk):
            if not sk.startswith(prefix) or (start is not None and sk <= start):
                continue
            if page and size >= PAGE_BYTES:
                last = page[-1]
                return {
                    "Items": page,
                    "Count": len(page),
                    "LastEvaluatedKey": {"pk": last["pk"], "sk": last["sk"]},
                }
            item = self.items[(pk, sk)]
            page.append(item)
            size += self._sizes.get((pk, sk)) or self._size((pk, sk), item)
        return {"Items": page, "Count": len(page)}

    def _sort_keys(self, pk: str) -> list[str]:
        if pk not in self._sorted:
            self._sorted[pk] = sorted(sk for item_pk, sk in self.items if item_pk == pk)
        return self._sorted[pk]

    def _size(self, key: Key, item: dict[str, Any]) -> int:
        self._sizes[key] = item_size(item)
        return self._sizes[key]

    def _changed(self, key: Key) -> None:
        self._sorted.pop(key[0], None)
        self._sizes.pop(key, None)

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("GetItem")
        item = self.items.get(_key(kwargs["Key"]))
        return {"Item": item} if item is not None else {}

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        """Every requested item at once (the bench's items fit DynamoDB's 16 MB and 100 keys per
        call), so UnprocessedKeys stays empty; keys with no item are left out, as DynamoDB does."""
        self.calls.append("BatchGetItem")
        responses = {
            table: [item for k in request["Keys"] if (item := self.items.get(_key(k))) is not None]
            for table, request in kwargs["RequestItems"].items()
        }
        return {"Responses": responses, "UnprocessedKeys": {}}

    def transact_get_items(self, **kwargs: Any) -> dict[str, Any]:
        """One answer per requested key, in order ({} where there is no item)."""
        self.calls.append("TransactGetItems")
        found = [self.items.get(_key(entry["Get"]["Key"])) for entry in kwargs["TransactItems"]]
        return {"Responses": [{"Item": item} if item is not None else {} for item in found]}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("PutItem")
        self._put(kwargs["Item"])
        return {}

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("DeleteItem")
        self._delete(kwargs["Key"])
        return {}

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("TransactWriteItems")
        for entry in kwargs["TransactItems"]:
            if "Put" in entry:
                self._put(entry["Put"]["Item"])
            elif "Delete" in entry:
                self._delete(entry["Delete"]["Key"])
        return {}

    def _put(self, item: dict[str, Any]) -> None:
        self.items[_key(item)] = item
        self._changed(_key(item))

    def _delete(self, key: dict[str, Any]) -> None:
        self.items.pop(_key(key), None)
        self._changed(_key(key))


def _key(item: dict[str, Any]) -> Key:
    return item["pk"]["S"], item["sk"]["S"]


@contextmanager
def installed(stub: StubDynamoDB) -> Iterator[StubDynamoDB]:
    """Every ciq module that bound `ciq.store.clients.dynamodb` gets a getter of the stub instead."""
    from ciq.store import clients

    real = clients.dynamodb

    def getter() -> StubDynamoDB:
        return stub

    patched = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("ciq.") and getattr(module, "dynamodb", None) is real
    ]
    for module in patched:
        module.dynamodb = getter  # type: ignore[attr-defined]
    try:
        yield stub
    finally:
        for module in patched:
            module.dynamodb = real  # type: ignore[attr-defined]
