"""Load over real HTTP: `python -m local` backed by DynamoDB Local (a real DynamoDB engine), many
clients sending interleaved, conflicting mutations to one account at once (CONTRACT §7 "Optimistic
concurrency", §9 "Versions", §10 "Writes"; docs/ops/resilience.md has the figures).

The local run serves the clients concurrently but runs handlers one invocation at a time, as a Lambda
sandbox does (local/functions.py says why): the clients' requests interleave, so If-Match pins go
stale (412), but no two writes race inside the store. Those races, as concurrent sandboxes make them
on AWS, are tested at the service level: tests/dynamodb_local/test_user_data_concurrency.py.

Between the local run and DynamoDB Local sits a counting proxy on 127.0.0.1: it forwards every call
unchanged and counts the TransactWriteItems that DynamoDB cancelled (a write that lost a race).

Size: STRESS_CLIENTS x STRESS_REQUESTS (default 12 x 20); `make stress` runs a larger one."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import pytest

from tests.http.conftest import LOOPBACK_ONLY, clean_env, started

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import httpx

    from tests.dynamodb_local.conftest import DynamoDBLocal
    from tests.http.conftest import LocalServer

pytestmark = [pytest.mark.dynamodb_local, *LOOPBACK_ONLY]

CLIENTS = int(os.environ.get("STRESS_CLIENTS", "12"))
REQUESTS = int(os.environ.get("STRESS_REQUESTS", "20"))
IF_MATCH_EVERY = 4  # every 4th request of a client pins the version it last saw


@dataclass
class Counts:
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: Counter[str] = field(default_factory=Counter)
    cancelled: Counter[str] = field(default_factory=Counter)  # by the first non-"None" reason

    def add(self, target: str, status: int, body: bytes) -> None:
        with self.lock:
            self.calls[target] += 1
            if target == "TransactWriteItems" and status == 400 and b"TransactionCanceledException" in body:
                reasons = json.loads(body).get("CancellationReasons") or []
                codes = [r.get("Code") for r in reasons if r.get("Code") not in (None, "None")]
                self.cancelled[codes[0] if codes else "unknown"] += 1


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        server: CountingProxy = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(server.target.hostname, server.target.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            upstream.request("POST", self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            target = str(self.headers.get("X-Amz-Target", "")).rpartition(".")[2]
            server.counts.add(target, answer.status, payload)
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "date",
                    "server",
                ):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            upstream.close()

    def log_message(self, *_: Any) -> None:
        pass


class CountingProxy(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.target = urlsplit(target)
        self.counts = Counts()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@dataclass
class Stack:
    server: LocalServer
    proxy: CountingProxy
    outbox: Path


@pytest.fixture(scope="module")
def stack(dynamodb_local: DynamoDBLocal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    proxy = CountingProxy(dynamodb_local.endpoint_url)
    outbox = tmp_path_factory.mktemp("stress") / "outbox.jsonl"
    server = started(clean_env(PORT="0", AWS_ENDPOINT_URL_DYNAMODB=proxy.url, LOCAL_OUTBOX_PATH=str(outbox)))
    try:
        yield Stack(server, proxy, outbox)
    finally:
        server.stop()
        proxy.shutdown()
        proxy.server_close()


def signed_up(stack: Stack, client: httpx.Client) -> dict[str, str]:
    """A new user, through sign-up and verify with the code from the outbox; the Bearer header."""
    email = f"stress-{uuid.uuid4().hex[:8]}@example.com"
    profile = {"firstName": "S", "lastName": "T", "email": email, "company": "C", "phone": "+14155550100"}
    challenge = client.post("/api/auth/sign-up", json=profile)
    assert challenge.status_code == 201, challenge.text
    codes = [r["code"] for r in map(json.loads, stack.outbox.read_text().splitlines()) if r["to"] == email]
    verified = client.post(
        "/api/auth/verify", json={"challengeId": challenge.json()["challengeId"], "code": codes[-1]}
    )
    assert verified.status_code == 200, verified.text
    return {"Authorization": f"Bearer {verified.json()['token']}"}


@dataclass
class Answer:
    client: int
    name: str
    kind: str
    if_match: bool
    status: int
    code: str | None
    version: int | None


def run_client(stack: Stack, auth: dict[str, str], n: int, start: threading.Barrier) -> list[Answer]:
    answers: list[Answer] = []
    seen = 1
    with stack.server.client(headers=auth) as client:
        start.wait()
        for r in range(REQUESTS):
            kind = "group" if r % 2 == 0 else "workspace"
            name = f"c{n}-r{r}"
            headers = {"Idempotency-Key": f"{n}-{r}"}
            pinned = r % IF_MATCH_EVERY == IF_MATCH_EVERY - 1
            if pinned:
                headers["If-Match"] = f'"{seen}"'
            response = client.post(
                "/api/user-data", json={"type": f"{kind}.create", "name": name}, headers=headers
            )
            body = response.json()
            version = body.get("version")
            if response.status_code == 200:
                seen = version
            answers.append(
                Answer(
                    n,
                    name,
                    kind,
                    pinned,
                    response.status_code,
                    (body.get("error") or {}).get("code"),
                    version,
                )
            )
    return answers


def test_many_clients_conflicting_on_one_account_lose_nothing(
    stack: Stack, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    started_at = time.monotonic()
    with stack.server.client() as anonymous:
        auth = signed_up(stack, anonymous)

    # Given a new account, first read by every client at the same moment
    first = threading.Barrier(CLIENTS)

    def first_read(_: int) -> tuple[int, str, tuple[str, ...]]:
        with stack.server.client(headers=auth) as client:
            first.wait()
            response = client.get("/api/user-data")
            workspaces = tuple(w["id"] for w in response.json()["data"]["workspaces"])
            return response.status_code, response.headers["ETag"], workspaces

    with ThreadPool(CLIENTS) as pool:
        reads = pool.map(first_read, range(CLIENTS))
    # Then all of them see one single copy of the defaults, at version 1
    assert set(reads) == {(200, '"1"', ("ws-1",))}, reads

    # When CLIENTS clients each send REQUESTS creates at once, some pinned with If-Match
    cancelled_before = sum(stack.proxy.counts.cancelled.values())
    mutations_started = time.monotonic()
    start = threading.Barrier(CLIENTS)
    with ThreadPool(CLIENTS) as pool:
        answers = [
            a
            for batch in pool.map(lambda n: run_client(stack, auth, n, start), range(CLIENTS))
            for a in batch
        ]
    mutation_seconds = time.monotonic() - mutations_started

    # Then every answer is 200, 412 (If-Match only: another client wrote since the pinned version), or
    # 503 when the function's time budget no longer fits (a loaded machine; the write did not commit:
    # the exact final state below proves it). No 409: handlers run one at a time, no write races another
    outcomes = Counter((a.status, a.code, a.if_match) for a in answers)
    assert set(outcomes) <= {
        (200, None, False),
        (200, None, True),
        (412, "version_mismatch", True),
        (503, "dependency_unavailable", False),
        (503, "dependency_unavailable", True),
    }, outcomes
    accepted = [a for a in answers if a.status == 200]
    # And each accepted write got its own version: a serial order of exactly the accepted mutations
    assert sorted(a.version for a in accepted) == list(range(2, 2 + len(accepted)))

    # And the final state is exactly the defaults plus the accepted mutations, nothing lost or extra
    with stack.server.client(headers=auth) as client:
        final = client.get("/api/user-data").json()
    assert final["version"] == 1 + len(accepted)
    groups = {g["name"] for g in final["data"]["groups"]} - {"Default group"}
    workspaces = {w["name"] for w in final["data"]["workspaces"]} - {"My Workspace"}
    assert groups == {a.name for a in accepted if a.kind == "group"}
    assert workspaces == {a.name for a in accepted if a.kind == "workspace"}

    # And the stored account keeps every invariant
    from ciq.domain.invariants import violations
    from ciq.settings import reset_settings
    from ciq.store import user_store
    from ciq.store.clients import reset_clients

    tables = boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint_url).list_tables()["TableNames"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint_url)
    monkeypatch.setenv("TABLE_NAME", next(t for t in tables if t.startswith("ciq-local")))
    reset_settings()
    reset_clients()
    snapshot = user_store.load(final["data"]["profile"]["userId"])
    assert snapshot is not None
    assert snapshot.version == final["version"]
    assert violations(snapshot.account) == []

    cancelled = stack.proxy.counts.cancelled
    figures = {
        "clients": CLIENTS,
        "mutations": len(answers),
        "accepted": len(accepted),
        "accepted_if_match": sum(a.if_match for a in accepted),
        "412": outcomes[(412, "version_mismatch", True)],
        "store_conflicts": sum(cancelled.values()) - cancelled_before,
        "cancellation_reasons": dict(cancelled),
        "transact_write_items": stack.proxy.counts.calls["TransactWriteItems"],
        "mutation_seconds": round(mutation_seconds, 1),
        "total_seconds": round(time.monotonic() - started_at, 1),
    }
    print(f"\nstress figures: {json.dumps(figures)}")
    # The clients really interleaved: pinned versions went stale under the others' writes (the test
    # would prove nothing otherwise)
    assert figures["412"] > 0
    # And no write ran at the same time as another: not one transaction lost a race in the store
    assert figures["store_conflicts"] == 0, figures


class ThreadPool:
    """A pool that starts exactly `size` threads at once (barriers need every party running)."""

    def __init__(self, size: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.executor = ThreadPoolExecutor(size)

    def __enter__(self) -> ThreadPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.executor.shutdown()

    def map(self, work: Any, items: Any) -> list[Any]:
        return [f.result(timeout=600) for f in [self.executor.submit(work, i) for i in items]]
