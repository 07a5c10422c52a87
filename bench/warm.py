"""Warm latency of /api/user-data through the real handler, and the DynamoDB calls and capacity
units of each request. The requests measured are the scenarios below (GETs with several
Accept-Encoding values and a conditional one, POSTs of one knowledgeBase.update with a full or a
minimal answer). Nothing here asserts an answer: the status, encoding and size of each answer are
recorded, so that a tree that answers a scenario differently (a baseline without deflate, say) is
measured and reported, not refused."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench import sizes
from bench.environment import TABLE_NAME, LambdaContext, api_event

if TYPE_CHECKING:
    from bench.accounts import Shape

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
EventMaker = Callable[[int], dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    """One kind of request: a GET (headers over events/user-data-get.json's) or a POST renaming a KB
    (events/user-data-post.json). `conditional`: If-None-Match with the account's current ETag."""

    label: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    conditional: bool = False
    idempotency_key: bool = True

    def events(self, shape: Shape, handler: Handler) -> EventMaker:
        headers = dict(self.headers)
        if self.conditional:
            headers["If-None-Match"] = current_etag(handler, shape)
        if self.method == "GET":
            return lambda _: get_event(shape, headers)
        return lambda n: post_event(shape, n, self.idempotency_key, headers)


MINIMAL = ("Prefer", "return=minimal")
GET = Scenario("GET")
GET_GZIP = Scenario("GET, Accept-Encoding: gzip", headers=(("Accept-Encoding", "gzip"),))
GET_DEFLATE = Scenario("GET, Accept-Encoding: deflate", headers=(("Accept-Encoding", "deflate"),))
GET_CONDITIONAL = Scenario("GET, If-None-Match: current ETag", conditional=True)
POST = Scenario("POST knowledgeBase.update", method="POST")
POST_MINIMAL = Scenario(
    "POST knowledgeBase.update, Prefer: return=minimal", method="POST", headers=(MINIMAL,)
)
# Timed rows, in this order (the POSTs last: each changes the version a conditional GET holds).
TIMED = (GET, GET_GZIP, GET_DEFLATE, GET_CONDITIONAL, POST, POST_MINIMAL)
# Counted rows (one request each, against moto). The encodings cost the same reads, so one GET.
COUNTED = (
    GET,
    GET_CONDITIONAL,
    Scenario("POST knowledgeBase.update", method="POST", idempotency_key=False),
    Scenario(
        "POST knowledgeBase.update, Prefer: return=minimal",
        method="POST",
        headers=(MINIMAL,),
        idempotency_key=False,
    ),
    Scenario("POST knowledgeBase.update + Idempotency-Key", method="POST"),
)
EDIT_LABEL = "POST knowledgeBase.update"  # the counted row the whole-account blob is compared with


def get_event(shape: Shape, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return api_event("user-data-get", shape.user_id, headers=headers or None)


def post_event(
    shape: Shape, n: int, idempotency_key: bool, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    body = {"type": "knowledgeBase.update", "knowledgeBaseId": shape.edited_kb, "name": f"Renamed {n}"}
    key = str(uuid.uuid4()) if idempotency_key else ""
    return api_event(
        "user-data-post", shape.user_id, body=body, headers={**(headers or {}), "Idempotency-Key": key}
    )


def current_etag(handler: Handler, shape: Shape) -> str:
    answer = handler(get_event(shape), LambdaContext())
    return response_header(answer, "ETag") or '"0"'


def response_header(response: dict[str, Any], name: str) -> str | None:
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower() and values:
            return str(values[0])
    return None


@dataclass
class Answer:
    """What the handler answered (the last answer of a timed row)."""

    status: int
    encoding: str  # Content-Encoding, or "identity"
    body_bytes: int  # on the wire, after any compression
    payload_bytes: int = 0  # the response Lambda returns (a compressed body is base64 in it)

    @classmethod
    def of(cls, response: dict[str, Any]) -> Answer:
        body = response.get("body") or ""
        size = len(base64.b64decode(body)) if response.get("isBase64Encoded") else len(body.encode())
        encoding = response_header(response, "Content-Encoding") or "identity"
        return cls(int(response["statusCode"]), encoding, size, len(json.dumps(response).encode()))


@dataclass
class Latency:
    label: str
    samples: list[float]
    statuses: dict[str, int] = field(default_factory=dict)  # status -> how many answers
    answer: Answer | None = None
    wanted: int = 0  # iterations asked for; fewer samples when the time budget ran out
    error: str | None = None


def timed(
    label: str,
    handler: Handler,
    make_event: EventMaker,
    iterations: int,
    warmups: int,
    *,
    budget_s: float | None = None,
    at_least: int = 3,
) -> Latency:
    """`iterations` requests after `warmups`; stops early (after `at_least`) once `budget_s` seconds
    of measured requests are spent, so a slow tree's large rows keep the run's length bounded."""
    measured = Latency(label, [], wanted=iterations)
    statuses: Counter[int] = Counter()
    context = LambdaContext()
    response: dict[str, Any] = {}
    spent = 0.0
    # Metrics (EMF) lines go to stdout as on Lambda, here into /dev/null, still written per request.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for n in range(warmups + iterations):
            event = make_event(n)
            started = time.perf_counter()
            response = handler(event, context)
            elapsed = (time.perf_counter() - started) * 1000
            statuses[int(response["statusCode"])] += 1
            if n < warmups:
                continue
            measured.samples.append(elapsed)
            spent += elapsed / 1000
            if budget_s is not None and spent >= budget_s and len(measured.samples) >= at_least:
                break
    measured.statuses = {str(s): c for s, c in sorted(statuses.items())}
    measured.answer = Answer.of(response) if response else None
    return measured


def merged(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from the chunks it was measured in (Latency as dicts, in the order measured)."""
    statuses: Counter[str] = Counter()
    for chunk in chunks:
        statuses.update(chunk.get("statuses") or {})
    answers = [c["answer"] for c in chunks if c.get("answer")]
    errors = [c["error"] for c in chunks if c.get("error")]
    return {
        "label": chunks[0]["label"],
        "samples": [sample for chunk in chunks for sample in chunk["samples"]],
        "statuses": dict(sorted(statuses.items())),
        "answer": answers[-1] if answers else None,
        "wanted": sum(chunk["wanted"] for chunk in chunks),
        "error": errors[0] if errors else None,
    }


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
    status: int = 0
    error: str | None = None


Key = tuple[str, str]


class Meter:
    """Adds one call's capacity to a Usage. Reads are charged on the stored item's whole size
    (DynamoDB ignores a ProjectionExpression when it counts), so sizes come from `before`, the
    table as it was before the request, falling back to the answer for items it did not hold."""

    def __init__(self, measured: Usage, before: dict[Key, dict[str, Any]]) -> None:
        self.measured, self.before = measured, before

    def _stored(self, key: Key, answered: dict[str, Any] | None) -> dict[str, Any] | None:
        return self.before.get(key, answered)

    def add(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        measured = self.measured
        measured.calls.append(operation)
        consistent = bool(params.get("ConsistentRead"))
        if operation == "Query":
            measured.query_pages += 1
            items = [self._stored(_key(i), i) or i for i in parsed.get("Items", [])]
            measured.rcu += sizes.query_rcu(items, consistent)
        elif operation == "GetItem":
            measured.rcu += sizes.get_rcu(self._stored(_key(params["Key"]), parsed.get("Item")), consistent)
        elif operation == "BatchGetItem":
            answered = {_key(i): i for items in parsed.get("Responses", {}).values() for i in items}
            for request in params["RequestItems"].values():
                found = [self._stored(_key(k), answered.get(_key(k))) for k in request["Keys"]]
                measured.rcu += sizes.batch_get_rcu(found, bool(request.get("ConsistentRead")))
        elif operation == "TransactGetItems":
            found = [self._stored(_key(entry["Get"]["Key"]), None) for entry in params["TransactItems"]]
            measured.rcu += sizes.transact_get_rcu(found)
        elif operation == "TransactWriteItems":
            self._transact_write(params["TransactItems"])
        elif operation in ("PutItem", "DeleteItem", "UpdateItem"):
            new = params.get("Item")
            key = _key(new if new is not None else params["Key"])
            measured.wcu += sizes.write_wcu(new, self.before.get(key), transactional=False)
            measured.written_items += 1

    def _transact_write(self, entries: list[dict[str, Any]]) -> None:
        measured = self.measured
        for entry in entries:
            kind, body = next(iter(entry.items()))
            new = body.get("Item")
            key = _key(new if new is not None else body["Key"])
            if kind in ("Put", "Delete", "Update"):
                measured.wcu += sizes.write_wcu(new, self.before.get(key), transactional=True)
                measured.written_items += 1
                measured.written_bytes += sizes.item_size(new) if new else 0
            else:  # ConditionCheck: a transactional read
                measured.rcu += sizes.transact_get_rcu([self.before.get(key)])


def usage(
    label: str, handler: Handler, event: dict[str, Any], table_items: Callable[[], dict[Any, Any]]
) -> Usage:
    """Runs one request against moto with hooks on the store's client; capacity from item sizes.
    `table_items` reads the table with another client (not counted): the items as they were."""
    from ciq.store.clients import dynamodb, reset_clients

    measured = Usage(label)
    meter = Meter(measured, table_items())
    requests: list[tuple[str, dict[str, Any]]] = []

    def on_params(params: dict[str, Any], model: Any, **_: Any) -> None:
        requests.append((model.name, params))

    def on_answer(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        operation, params = requests[-1]
        meter.add(operation, params, parsed)

    # The store keeps one client per time-budget size (ciq.store.clients): hooks go on the session,
    # and the clients are made anew so that every one of them carries the hooks.
    import boto3

    dynamodb()  # makes sure the default session exists
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("provide-client-params.dynamodb", on_params, unique_id="bench-params")
    events.register("after-call.dynamodb", on_answer, unique_id="bench-answer")
    reset_clients()
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            measured.status = int(handler(event, LambdaContext())["statusCode"])
    finally:
        events.unregister("provide-client-params.dynamodb", unique_id="bench-params")
        events.unregister("after-call.dynamodb", unique_id="bench-answer")
        reset_clients()
    return measured


def _key(item: dict[str, Any]) -> Key:
    return item["pk"]["S"], item["sk"]["S"]


def partition_reader(raw_client: Any) -> Callable[[], dict[Key, dict[str, Any]]]:
    def read() -> dict[Key, dict[str, Any]]:
        found: dict[Key, dict[str, Any]] = {}
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
