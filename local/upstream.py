"""A local live-agents service (LOCAL_UPSTREAM=on|slow|fail|throttle): the upstream contract of
docs/api/live-agents.md on 127.0.0.1, so the frontend can see `source: "live"`, `synced`, `pending`
and `failed` without the real service.

- `on`: stores what the backend sends (per user, in memory, or in the state folder when the run is
  persistent) and lists it back in the service's own record shape (snake_case fields, upper-case
  status), so the backend's normalization runs. It refuses (422) an agent whose name contains
  `[reject]`: that agent shows `syncState: "failed"`.
- `slow`: every call waits longer than the function's budget (LIVE_AGENTS_TIMEOUT_MS): degraded.
- `fail`: every call answers 503: degraded, changes stay `pending`.
- `throttle`: every call answers 429 with Retry-After: degraded, changes stay `pending`.

Every call needs `Authorization: Bearer <key>`, the key the local run writes to SSM (401 otherwise)."""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from pathlib import Path

BASE_PATH = "/v1"
REJECT_MARK = "[reject]"
SLOW_SECONDS = 6.0  # past the template's largest budget (5,000 ms)
_AGENTS = re.compile(rf"^{BASE_PATH}/users/([^/]+)/agents(?:/([^/]+))?$")


class AgentDirectory:
    """The service's records: user id -> agent id -> record, saved to `path` after each change."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._users: dict[str, dict[str, dict[str, Any]]] = {}
        if path is not None and path.exists():
            self._users = json.loads(path.read_text())

    def list(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_service_shape(record) for record in self._users.get(user_id, {}).values()]

    def put(self, user_id: str, agent_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._users.setdefault(user_id, {})[agent_id] = record
            self._save()

    def delete(self, user_id: str, agent_id: str) -> bool:
        with self._lock:
            found = self._users.get(user_id, {}).pop(agent_id, None) is not None
            self._save()
            return found

    def _save(self) -> None:
        if self._path is not None:
            self._path.write_text(json.dumps(self._users))


def _service_shape(record: dict[str, Any]) -> dict[str, Any]:
    """How this service spells an AgentRecord: the backend's normalization maps it back."""
    return {
        "agent_id": record.get("id"),
        "name": record.get("name"),
        "workspace_id": record.get("workspaceId"),
        "kb_id": record.get("knowledgeBaseId"),
        "state": str(record.get("status", "")).upper(),
        "channel_ids": record.get("channels", []),
    }


class LocalUpstream(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, api_key: str, behaviour: str, directory: AgentDirectory) -> None:
        self.api_key = api_key
        self.behaviour = behaviour
        self.directory = directory
        super().__init__(("127.0.0.1", 0), _UpstreamHandler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{BASE_PATH}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="local-upstream", daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalUpstream

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, answer = self._answer(body)
        payload = json.dumps(answer).encode()
        head = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
        ]
        if status == 429:
            head.append("Retry-After: 1")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)

    do_GET = do_PUT = do_DELETE = do_POST = _serve

    def _answer(self, body: bytes) -> tuple[int, dict[str, Any]]:
        expected = f"Bearer {self.server.api_key}"
        if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), expected.encode()):
            return 401, {"error": {"message": "missing or wrong API key"}}
        behaviour = self.server.behaviour
        if behaviour == "slow":
            time.sleep(SLOW_SECONDS)
        elif behaviour == "fail":
            return 503, {"error": {"message": "the local upstream is set to fail (LOCAL_UPSTREAM=fail)"}}
        elif behaviour == "throttle":
            return 429, {
                "error": {"message": "the local upstream is set to throttle (LOCAL_UPSTREAM=throttle)"}
            }
        matched = _AGENTS.match(self.path.partition("?")[0])
        if matched is None:
            return 404, {"error": {"message": "no such path"}}
        user_id, agent_id = unquote(matched.group(1)), matched.group(2) and unquote(matched.group(2))
        return self._route(user_id, agent_id, body)

    def _route(self, user_id: str, agent_id: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        directory = self.server.directory
        if agent_id is None and self.command == "GET":
            return 200, {"agents": directory.list(user_id)}
        if agent_id is not None and self.command == "PUT":
            try:
                record = json.loads(body)
            except ValueError:
                return 400, {"error": {"message": "the body is not JSON"}}
            if not isinstance(record, dict):
                return 400, {"error": {"message": "an AgentRecord is an object"}}
            if REJECT_MARK in str(record.get("name", "")):
                return 422, {"error": {"message": f"agent names containing {REJECT_MARK} are refused"}}
            directory.put(user_id, agent_id, record)
            return 200, {}
        if agent_id is not None and self.command == "DELETE":
            return (200, {}) if directory.delete(user_id, agent_id) else (404, {"error": "not held"})
        return 405, {"error": {"message": f"{self.command} is not supported here"}}

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the local run logs the API's requests, not the upstream's."""
