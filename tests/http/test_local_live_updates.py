"""Live updates in the local run (docs/api/live-updates.md, "In the local run"): the ticket route,
the WebSocket server and the in-process change feed, against `python -m local` as a frontend uses
it: two sockets of one user hear of a write within a second and catch up with one delta read; a
third user's socket hears nothing; a ticket opens one connection."""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from ciq.domain.delta import apply_workspace_delta
from tests.http.conftest import LOOPBACK_ONLY, clean_env, started

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.http.conftest import LocalServer

pytestmark = LOOPBACK_ONLY
WRITES_MEASURED = 40


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    running = started(clean_env(PORT="0"))
    yield running
    running.stop()


class Tab:
    """One signed-in page: its bearer session, its held data, its socket."""

    def __init__(self, http: httpx.Client, token: str, sockets: ExitStack) -> None:
        self.http = http
        self.sockets = sockets
        self.headers = {"Authorization": f"Bearer {token}"}
        answer = http.get("/api/user-data", headers=self.headers).json()
        self.data: dict[str, Any] = answer["data"]
        self.version: int = answer["version"]
        self.socket: ClientConnection = self.reconnect()

    def reconnect(self) -> ClientConnection:
        issued = ticket(self.http, self.headers)
        self.socket = self.sockets.enter_context(connect(f"{issued['url']}?ticket={issued['ticket']}"))
        return self.socket

    def catch_up(self) -> None:
        since = {"since": self.version}
        answer = self.http.get("/api/user-data", params=since, headers=self.headers).json()
        assert "full" not in answer, answer
        self.data, self.version = apply_workspace_delta(self.data, answer), answer["version"]

    def notice(self, timeout: float) -> dict[str, Any] | None:
        try:
            return json.loads(self.socket.recv(timeout=timeout))  # type: ignore[no-any-return]
        except TimeoutError:
            return None


def sign_up(http: httpx.Client) -> str:
    email = f"live-{uuid.uuid4().hex[:10]}@example.com"
    profile = {"firstName": "Ada", "lastName": "Lovelace", "email": email, "company": "Engines",
               "phone": "+14155550123"}  # fmt: skip
    challenge = http.post("/api/auth/sign-up", json=profile).json()["challengeId"]
    verified = http.post("/api/auth/verify", json={"challengeId": challenge, "code": "123456"})
    assert verified.status_code == 200, verified.text
    return str(verified.json()["token"])


def ticket(http: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    answer = http.post("/api/live/ticket", headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def rename(tab: Tab, name: str) -> int:
    mutation = {"type": "workspace.update", "workspaceId": "ws-1", "name": name}
    answer = tab.http.post("/api/user-data", json=mutation, headers=tab.headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["version"])


def test_a_rename_reaches_the_users_other_tab_and_no_one_else(server: LocalServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http, ExitStack() as sockets:
        # Given two tabs of one user and a tab of another user, all subscribed
        token = sign_up(http)
        first, second = Tab(http, token, sockets), Tab(http, token, sockets)
        stranger = Tab(http, sign_up(http), sockets)
        # When the first tab renames a workspace
        version = rename(first, "Renamed in tab 1")
        # Then the other tab is told the new version within a second, and catches up with one delta
        assert second.notice(timeout=1.0) == {"type": "changed", "version": version}
        second.catch_up()
        assert second.data == http.get("/api/user-data", headers=second.headers).json()["data"]
        assert second.data["workspaces"][0]["name"] == "Renamed in tab 1"
        # And the writing tab hears of its own write (a version it already holds: ignored)
        assert first.notice(timeout=1.0) == {"type": "changed", "version": version}
        # And the other user's tab hears nothing
        assert stranger.notice(timeout=1.0) is None


def test_an_offline_tab_catches_up_with_one_delta_read(server: LocalServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http, ExitStack() as sockets:
        token = sign_up(http)
        writer, offline = Tab(http, token, sockets), Tab(http, token, sockets)
        offline.socket.close()
        # Given several writes while a tab was offline
        for n in range(3):
            rename(writer, f"Name {n}")
        http.post("/api/user-data", json={"type": "workspace.create", "name": "New"}, headers=writer.headers)
        # When it reconnects, one delta read brings it to the current data
        offline.reconnect()
        offline.catch_up()
        assert offline.data == http.get("/api/user-data", headers=offline.headers).json()["data"]


def test_a_ticket_opens_one_connection_and_a_made_up_one_none(server: LocalServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {sign_up(http)}"}
        issued = ticket(http, headers)
        url = f"{issued['url']}?ticket={issued['ticket']}"
        with connect(url, open_timeout=5):
            with pytest.raises(InvalidStatus) as refused, connect(url, open_timeout=5):
                pass
            assert refused.value.response.status_code == 401
        for refused_url in (f"{issued['url']}?ticket=made-up", issued["url"]):
            with pytest.raises(InvalidStatus), connect(refused_url, open_timeout=5):
                pass
        # And the ticket route needs a session
        assert http.post("/api/live/ticket").status_code == 401


def test_write_to_other_tab_latency(server: LocalServer) -> None:
    """From sending a write to the other tab holding the new data (notice + delta read + apply);
    printed for docs/performance.md."""
    with httpx.Client(base_url=server.url, timeout=10) as http, ExitStack() as sockets:
        token = sign_up(http)
        writer, reader = Tab(http, token, sockets), Tab(http, token, sockets)
        latencies = []
        for n in range(WRITES_MEASURED):
            start = time.perf_counter()
            version = rename(writer, f"Name {n}")
            while reader.version < version:
                notice = reader.notice(timeout=1.0)
                assert notice is not None, f"no notice for version {version}"
                if notice["version"] > reader.version:
                    reader.catch_up()
            latencies.append((time.perf_counter() - start) * 1000)
            while writer.notice(timeout=0.001) is not None:  # drain the writer's own notices
                pass
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
        print(f"\nwrite-to-other-tab latency, {len(latencies)} writes:", file=sys.stderr)
        print(f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", file=sys.stderr)
        assert p99 < 1000
