"""The HTTP client of the live-agents service (the upstream contract is in docs/api/live-agents.md).

- Base URL LIVE_AGENTS_API_URL; API key from the SSM SecureString named by LIVE_AGENTS_API_KEY_PARAM
  (Powertools Parameters, cached SECRETS_MAX_AGE_SECONDS), sent as `Authorization: Bearer <key>` and
  never logged; no key parameter = no Authorization header.
- One httpx.Client per warm sandbox, created on first use (connections are reused).
- Every call of one request shares one `Budget` of LIVE_AGENTS_TIMEOUT_MS: a call gets what is left,
  and the body is read against the same deadline, so a slow service costs at most the budget.
- Idempotent calls (GET, PUT, DELETE) are retried once after a connection error or a 500/502/503/504
  while budget is left; anything else (POST included, should one be added) is sent once. A timeout
  is never retried: it used the budget.
- `Unavailable` means "answer from the store": timeout, connection error, 408, 429, 5xx, a key that
  cannot be read, or a body that is not the documented JSON."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from ciq import budget as request_budget
from ciq.settings import get_settings

if TYPE_CHECKING:
    import httpx

    from ciq.live_agents.tracking import AgentView

# httpx and Powertools Parameters (which pulls in boto3) are imported on the first call to the
# service: in store mode (no LIVE_AGENTS_API_URL) they never load, and they stay out of cold start.

IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
UNAVAILABLE_STATUSES = frozenset({408, 429})
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_ATTEMPTS = 2
RETRY_PAUSE_SECONDS = 0.05
REASON_MAX = 200

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_client: tuple[str, httpx.Client] | None = None


class Unavailable(Exception):
    """The service could not give a usable answer; `reason` is a short code for logs and tests."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    """The service's verdict on a write: accepted, or rejected with its reason."""

    outcome: Literal["accepted", "rejected"]
    reason: str = ""


RECORD_SECONDS = 2.0  # of the request's budget, kept for the write that records the sync's outcome


class Budget:
    """One deadline for every upstream call of one API request."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    @classmethod
    def from_settings(cls) -> Budget:
        """The configured timeout, within the request's time budget less what the write that
        records the sync needs after it (ciq.budget)."""
        configured = get_settings().live_agents_timeout_ms / 1000
        left = request_budget.remaining()
        return cls(configured if left is None else max(0.0, min(configured, left - RECORD_SECONDS)))

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def configured() -> bool:
    return bool(get_settings().live_agents_api_url)


def list_agents(user_id: str, budget: Budget) -> list[Any]:
    """`GET /users/{userId}/agents` -> the raw records of `{"agents": [...]}`."""
    status, body = _send("GET", _agents_path(user_id), budget)
    if status != 200:
        raise _unexpected(status, "GET")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Unavailable("malformed_body") from None
    if not isinstance(document, dict) or not isinstance(document.get("agents"), list):
        raise Unavailable("malformed_body")
    return list(document["agents"])


def put_agent(user_id: str, view: AgentView, budget: Budget) -> Answer:
    """`PUT /users/{userId}/agents/{agentId}`: create or replace the service's record."""
    payload = {
        "id": view.id,
        "userId": user_id,
        "workspaceId": view.workspace_id,
        "knowledgeBaseId": view.knowledge_base_id,
        "name": view.name,
        "status": view.status,
        "channels": list(view.channels),
    }
    status, body = _send("PUT", _agent_path(user_id, view.id), budget, payload)
    return _verdict(status, body, "PUT")


def delete_agent(user_id: str, agent_id: str, budget: Budget) -> Answer:
    """`DELETE /users/{userId}/agents/{agentId}`; 404 counts as done (already gone)."""
    status, body = _send("DELETE", _agent_path(user_id, agent_id), budget)
    return Answer("accepted") if status == 404 else _verdict(status, body, "DELETE")


def reset_client() -> None:
    """Tests and the local run change the service URL between runs."""
    global _client  # noqa: PLW0603 - the one client of the sandbox
    with _lock:
        if _client is not None:
            _client[1].close()
        _client = None


# -- internals ---------------------------------------------------------------------------------------
def _agents_path(user_id: str) -> str:
    return f"/users/{quote(user_id, safe='')}/agents"


def _agent_path(user_id: str, agent_id: str) -> str:
    return f"{_agents_path(user_id)}/{quote(agent_id, safe='')}"


def _http() -> httpx.Client:
    import httpx  # noqa: PLC0415 - lazy: see the imports

    global _client  # noqa: PLW0603 - the one client of the sandbox
    base_url = get_settings().live_agents_api_url
    with _lock:
        if _client is None or _client[0] != base_url:
            if _client is not None:
                _client[1].close()
            _client = (
                base_url,
                httpx.Client(
                    base_url=base_url,
                    headers={"Accept": "application/json", "User-Agent": "conversioniq-backend"},
                    follow_redirects=False,
                    limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
                ),
            )
        return _client[1]


def _auth_headers() -> dict[str, str]:
    settings = get_settings()
    if not settings.live_agents_api_key_param:
        return {}
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 - lazy: see the imports
    from aws_lambda_powertools.utilities.parameters.exceptions import (  # noqa: PLC0415
        GetParameterError,
    )

    try:
        key = parameters.get_parameter(
            settings.live_agents_api_key_param, decrypt=True, max_age=settings.secrets_max_age_seconds
        )
    except GetParameterError as error:
        _log.error("live-agents API key could not be read (%s)", type(error).__name__)
        raise Unavailable("api_key_unreadable") from None
    if not isinstance(key, str) or not key.strip():
        _log.error("live-agents API key parameter is empty")
        raise Unavailable("api_key_unreadable")
    return {"Authorization": f"Bearer {key.strip()}"}


def _send(method: str, path: str, budget: Budget, payload: Any = None) -> tuple[int, bytes]:
    """(status, body) of the first usable answer; Unavailable when there is none within budget."""
    import httpx  # noqa: PLC0415 - lazy: see the imports

    headers = _auth_headers()
    attempts = MAX_ATTEMPTS if method in IDEMPOTENT else 1
    reason = "timeout"
    for attempt in range(attempts):
        remaining = budget.remaining()
        if remaining <= 0:
            break
        try:
            with _http().stream(
                method, path, json=payload, headers=headers, timeout=httpx.Timeout(remaining)
            ) as response:
                status, body = response.status_code, _read(response, budget)
        except httpx.TimeoutException:
            raise Unavailable("timeout") from None
        except httpx.TransportError as error:
            reason = "connection_error"
            _log.warning("live-agents %s failed: %s", method, type(error).__name__)
        else:
            if status not in RETRIED_STATUSES:
                return status, body
            reason = f"http_{status}"
            _log.warning("live-agents %s answered %s", method, status)
        if attempt + 1 < attempts and budget.remaining() > RETRY_PAUSE_SECONDS:
            time.sleep(RETRY_PAUSE_SECONDS)
    if reason.startswith("http_"):
        return int(reason[5:]), b""
    raise Unavailable(reason)


def _read(response: httpx.Response, budget: Budget) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Unavailable("body_too_large")
        if budget.remaining() <= 0:
            raise Unavailable("timeout")
        chunks.append(chunk)
    return b"".join(chunks)


def _verdict(status: int, body: bytes, method: str) -> Answer:
    if 200 <= status < 300:
        return Answer("accepted")
    if status in UNAVAILABLE_STATUSES or status >= 500 or status < 400:
        raise _unexpected(status, method)
    return Answer("rejected", f"HTTP {status}: {_reason(body)}")


def _unexpected(status: int, method: str) -> Unavailable:
    _log.warning("live-agents %s answered %s", method, status)
    return Unavailable(f"http_{status}")


def _reason(body: bytes) -> str:
    """The service's own message, if it sent one: `{"error": {"message"}}`, `{"error": "..."}` or
    `{"message": "..."}`; printable, blanks collapsed, at most REASON_MAX characters."""
    message: Any = None
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        document = None
    if isinstance(document, dict):
        error = document.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        message = message if isinstance(message, str) else document.get("message")
    if not isinstance(message, str) or not message.strip():
        return "rejected without a reason"
    text = re.sub(r"\s+", " ", "".join(ch for ch in message if ch.isprintable() or ch.isspace())).strip()
    return text[:REASON_MAX] or "rejected without a reason"
