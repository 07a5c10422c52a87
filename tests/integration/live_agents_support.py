"""A fake live-agents service on 127.0.0.1 (a real threaded HTTP server speaking the upstream contract
of docs/api/live-agents.md) and a client that calls /api/live-agents through the real handler with
the real events (events/live-agents-*.json)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from local.events import with_body
from tests.conftest import api_event, invoke

if TYPE_CHECKING:
    from types import ModuleType

API_KEY = "la-test-key-7f3a9c"  # the fake service refuses any other key (401)


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class FakeLiveAgents:
    """State and behaviour of the fake service. `mode` is one of: normal, slow (sleeps `delay` before
    answering), status (answers `status` with `body` to everything), malformed (answers `body` with
    200 to GET), reject (answers 422 with a reason to PUT/DELETE of the ids in `rejected`)."""

    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    mode: str = "normal"
    delay: float = 0.0
    status: int = 500
    body: bytes = b""
    rejected: set[str] = field(default_factory=set)
    fail_next: int = 0  # answer this many next requests with 503, then behave
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, user_id: str, record: dict[str, Any]) -> None:
        self.records[(user_id, record["id"])] = record

    def of(self, user_id: str) -> dict[str, dict[str, Any]]:
        return {agent_id: r for (uid, agent_id), r in self.records.items() if uid == user_id}

    def calls(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if method in (None, s.method)]

    def answer(self, method: str, path: str, auth: str | None, body: Any) -> tuple[int, bytes]:
        with self.lock:
            self.seen.append(Seen(method, path, auth, body))
            mode, delay = self.mode, self.delay
            if self.fail_next:
                self.fail_next -= 1
                return 503, b'{"error":"busy"}'
        if mode == "slow":
            time.sleep(delay)
        if mode == "status":
            return self.status, self.body
        if auth != f"Bearer {API_KEY}":
            return 401, b'{"error":{"message":"bad key"}}'
        parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")]
        if len(parts) < 3 or parts[0] != "users" or parts[2] != "agents":
            return 404, b'{"error":"no such route"}'
        user_id = parts[1]
        with self.lock:
            if method == "GET" and len(parts) == 3:
                if mode == "malformed":
                    return 200, self.body
                return 200, json.dumps({"agents": list(self.of(user_id).values())}).encode()
            if len(parts) != 4:
                return 405, b""
            agent_id = parts[3]
            if mode == "reject" and agent_id in self.rejected:
                return 422, json.dumps({"error": {"message": f"agent {agent_id} is not allowed"}}).encode()
            if method == "PUT":
                self.records[(user_id, agent_id)] = body
                return 200, json.dumps(body).encode()
            if method == "DELETE":
                found = self.records.pop((user_id, agent_id), None)
                return (204, b"") if found else (404, b'{"error":"not found"}')
        return 405, b""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connection
    fake: FakeLiveAgents

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        status, payload = self.server.fake.answer(  # type: ignore[attr-defined]
            self.command, self.path, self.headers.get("Authorization"), body
        )
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer

    do_GET = do_PUT = do_DELETE = do_POST = _serve

    def log_message(self, *_: Any) -> None:
        pass


class UpstreamServer:
    def __init__(self) -> None:
        self.fake = FakeLiveAgents()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.fake = self.fake  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_url() -> str:
    """A loopback URL nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class LiveClient:
    """One signed-in user calling /api/live-agents through the handler."""

    module: ModuleType
    user_id: str

    def call(
        self,
        method: str,
        agent_id: str | None = None,
        body: Any = None,
        *,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        name = {
            "GET": "live-agents-list",
            "POST": "live-agents-create",
            "PATCH": "live-agents-update",
            "DELETE": "live-agents-delete",
        }.get(method, "live-agents-list" if agent_id is None else "live-agents-update")
        event = api_event(name, user_id=self.user_id, method=method, query=query or {})
        for section in ("headers", "multiValueHeaders"):  # the samples' If-Match / Idempotency-Key
            for key in [k for k in event[section] if k in ("If-Match", "Idempotency-Key")]:
                del event[section][key]
        if headers:
            event["headers"].update(headers)
            event["multiValueHeaders"].update({k: [v] for k, v in headers.items()})
        if agent_id is None:
            event["resource"], event["path"], event["pathParameters"] = (
                "/api/live-agents",
                "/api/live-agents",
                None,
            )
        else:
            event["resource"] = "/api/live-agents/{agentId}"
            event["path"] = f"/api/live-agents/{agent_id}"
            event["pathParameters"] = {"agentId": agent_id}
        event["requestContext"]["resourcePath"] = event["resource"]
        with_body(event, raw_body if raw_body is not None else (None if body is None else json.dumps(body)))
        return invoke(self.module, event)

    def list(self, **query: str) -> dict[str, Any]:
        status, _, body = self.call("GET", query=query)
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def create(self, body: dict[str, Any], **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        return self.call("POST", None, body, **kwargs)

    def update(self, agent_id: str, body: dict[str, Any], **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        return self.call("PATCH", agent_id, body, **kwargs)

    def delete(self, agent_id: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        return self.call("DELETE", agent_id, **kwargs)


def by_id(agents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in agents}
