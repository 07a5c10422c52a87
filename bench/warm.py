"""Warm latency of /api/user-data through the real handler (GET, and a typical POST: one
knowledgeBase.update), and the DynamoDB calls and capacity units of each operation."""

from __future__ import annotations

import contextlib
import math
import os
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench import sizes
from bench.environment import TABLE_NAME, LambdaContext, api_event

if TYPE_CHECKING:
    from bench.accounts import Shape

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class Latency:
    label: str
    samples: list[float]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def get_event(shape: Shape) -> dict[str, Any]:
    return api_event("user-data-get", shape.user_id)


def post_event(shape: Shape, n: int, idempotency_key: bool) -> dict[str, Any]:
    body = {"type": "knowledgeBase.update", "knowledgeBaseId": shape.edited_kb, "name": f"Renamed {n}"}
    key = str(uuid.uuid4()) if idempotency_key else ""
    return api_event("user-data-post", shape.user_id, body=body, headers={"Idempotency-Key": key})


def gets(shape: Shape) -> Callable[[int], dict[str, Any]]:
    return lambda _: get_event(shape)


def posts(shape: Shape, idempotency_key: bool) -> Callable[[int], dict[str, Any]]:
    return lambda n: post_event(shape, n, idempotency_key)


def timed(
    label: str, handler: Handler, make_event: Callable[[int], dict[str, Any]], iterations: int, warmups: int
) -> Latency:
    samples = []
    context = LambdaContext()
    # Metrics (EMF) lines go to stdout as on Lambda, here into /dev/null, still written per request.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for n in range(warmups + iterations):
            samples.extend(_one(label, handler, make_event(n), context, n >= warmups))
    return Latency(label, samples)


def _one(label: str, handler: Handler, event: dict[str, Any], context: Any, keep: bool) -> list[float]:
    started = time.perf_counter()
    response = handler(event, context)
    elapsed = (time.perf_counter() - started) * 1000
    if response["statusCode"] != 200:
        raise RuntimeError(f"{label}: answered {response['statusCode']}: {response.get('body', '')[:300]}")
    return [elapsed] if keep else []


@dataclass
class Usage:
    """The DynamoDB calls of one request (counted by botocore event hooks) and their capacity."""

    label: str
    calls: list[str] = field(default_factory=list)
    rcu: float = 0.0
    wcu: int = 0
    query_pages: int = 0
    written_items: int = 0
    written_bytes: int = 0


def usage(
    label: str, handler: Handler, event: dict[str, Any], table_items: Callable[[], dict[Any, Any]]
) -> Usage:
    """Runs one request against moto with hooks on the store's client; capacity from item sizes.
    `table_items` reads the table with another client (not counted): the old items a write replaces."""
    from ciq.store.clients import dynamodb, reset_clients

    measured = Usage(label)
    before = table_items()
    requests: list[tuple[str, dict[str, Any]]] = []

    def on_params(params: dict[str, Any], model: Any, **_: Any) -> None:
        requests.append((model.name, params))

    def on_answer(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        operation, params = requests[-1]
        measured.calls.append(operation)
        consistent = bool(params.get("ConsistentRead"))
        if operation == "Query":
            measured.query_pages += 1
            measured.rcu += sizes.query_rcu(parsed.get("Items", []), consistent)
        elif operation == "GetItem":
            measured.rcu += sizes.get_rcu(parsed.get("Item"), consistent)
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                kind, body = next(iter(entry.items()))
                new = body.get("Item")
                key = _key(new if new is not None else body["Key"])
                if kind in ("Put", "Delete", "Update"):
                    measured.wcu += sizes.write_wcu(new, before.get(key), transactional=True)
                    measured.written_items += 1
                    measured.written_bytes += sizes.item_size(new) if new else 0
                else:  # ConditionCheck: a transactional read
                    measured.rcu += 2 * sizes.get_rcu(before.get(key), consistent=True)
        elif operation in ("PutItem", "DeleteItem"):
            new = params.get("Item")
            key = _key(new if new is not None else params["Key"])
            measured.wcu += sizes.write_wcu(new, before.get(key), transactional=False)
            measured.written_items += 1

    # The store keeps one client per time-budget size (ciq.store.clients): hooks go on the session,
    # and the clients are made anew so that every one of them carries the hooks.
    import boto3

    dynamodb()  # makes sure the default session exists
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("provide-client-params.dynamodb", on_params, unique_id="bench-params")
    events.register("after-call.dynamodb", on_answer, unique_id="bench-answer")
    reset_clients()
    try:
        response = handler(event, LambdaContext())
    finally:
        events.unregister("provide-client-params.dynamodb", unique_id="bench-params")
        events.unregister("after-call.dynamodb", unique_id="bench-answer")
        reset_clients()
    if response["statusCode"] != 200:
        raise RuntimeError(f"{label}: answered {response['statusCode']}")
    return measured


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]


def partition_reader(raw_client: Any) -> Callable[[], dict[tuple[str, str], dict[str, Any]]]:
    def read() -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": TABLE_NAME}
        while True:
            page = raw_client.scan(**kwargs)
            found.update({_key(i): i for i in page["Items"]})
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    return read


@dataclass(frozen=True)
class Blob:
    json_bytes: int
    compressed_bytes: int

    @property
    def wcu_json(self) -> int:
        return sizes.blob_wcu(self.json_bytes, transactional=False)

    @property
    def wcu_compressed(self) -> int:
        return sizes.blob_wcu(self.compressed_bytes, transactional=False)


def whole_account_blob(user_id: str) -> Blob:
    """The alternative design: the whole account as one item, rewritten on every edit (one
    conditional PutItem, not a transaction, so the comparison favours the blob)."""
    from ciq.store import user_store

    snapshot = user_store.load(user_id)
    assert snapshot is not None
    text = snapshot.account.to_user_data().model_dump_json().encode()
    return Blob(len(text), len(zlib.compress(text, 6)))
