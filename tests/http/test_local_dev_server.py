"""The local run as a dev server a frontend team lives in (docs/ops/local-run.md): data and sessions
survive a restart, the in-memory switch forgets them, the demo account, the local live-agents
upstream in each of its behaviours, JSON for every method, a burst of clients, one run per state
folder, and the readable console."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.http.conftest import LOOPBACK_ONLY, ROOT, clean_env, launch, started

if TYPE_CHECKING:
    from pathlib import Path

    from tests.http.conftest import LocalServer

pytestmark = LOOPBACK_ONLY


def _on_disk(state: Path, **extra: str) -> dict[str, str]:
    return clean_env(PORT="0", LOCAL_STORE="disk", LOCAL_STATE_DIR=str(state), **extra)


def _sign_up(client: httpx.Client, email: str) -> str:
    profile = {"firstName": "Ada", "lastName": "Lovelace", "email": email, "company": "Engines",
               "phone": "+14155550123"}  # fmt: skip
    challenge = client.post("/api/auth/sign-up", json=profile).json()["challengeId"]
    verified = client.post("/api/auth/verify", json={"challengeId": challenge, "code": "123456"})
    assert verified.status_code == 200, verified.text
    return str(verified.json()["token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _restart(server: LocalServer, env: dict[str, str]) -> LocalServer:
    assert server.stop() == 0
    return started(env)


def test_data_sessions_and_accounts_survive_a_restart(tmp_path: Path) -> None:
    # Given the default local run (DynamoDB Local on disk), an account with a session and a change
    env = _on_disk(tmp_path / "state")
    server = started(env)
    email = f"keep-{uuid.uuid4().hex[:8]}@example.com"
    with server.client() as client:
        token = _sign_up(client, email)
        created = client.post("/api/user-data", headers=_bearer(token),
                              json={"type": "workspace.create", "name": "Survivor"})  # fmt: skip
        assert created.status_code == 200, created.text
    # When the local run restarts
    server = _restart(server, env)
    try:
        with server.client() as client:
            # Then the same token still works and the data is there
            read = client.get("/api/user-data", headers=_bearer(token))
            assert read.status_code == 200, read.text
            assert [w["name"] for w in read.json()["data"]["workspaces"]] == ["My Workspace", "Survivor"]
            # And signing in finds the account (the email index still hashes the same way)
            assert client.post("/api/auth/sign-in", json={"email": email}).status_code == 201
            # And signing up again with that email is refused: no duplicate account
            profile = {"firstName": "A", "lastName": "B", "email": email, "company": "C",
                       "phone": "+14155550123"}  # fmt: skip
            again = client.post("/api/auth/sign-up", json=profile)
            assert again.status_code == 409, again.text
    finally:
        server.stop()
    # And the secrets were generated once, private to the user
    assert (tmp_path / "state" / "secrets.json").stat().st_mode & 0o077 == 0


def test_the_in_memory_switch_forgets_everything_on_restart(tmp_path: Path) -> None:
    # Given the local run in memory (LOCAL_STORE=memory) with an account
    env = clean_env(PORT="0", LOCAL_STORE="memory", LOCAL_STATE_DIR=str(tmp_path / "state"))
    server = started(env)
    assert "in memory (moto" in server.output()
    email = f"gone-{uuid.uuid4().hex[:8]}@example.com"
    with server.client() as client:
        token = _sign_up(client, email)
    # When it restarts
    server = _restart(server, env)
    try:
        with server.client() as client:
            # Then the session and the account are gone
            assert client.get("/api/user-data", headers=_bearer(token)).status_code == 401
            signed_in = client.post("/api/auth/sign-in", json={"email": email})
            assert signed_in.status_code == 404
            assert signed_in.json()["error"]["code"] == "account_not_found"
    finally:
        server.stop()
    # And nothing was written to the state folder's database
    assert not (tmp_path / "state" / "dynamodb").exists()


def test_a_second_run_on_the_same_state_folder_is_refused_and_wipe_waits_for_it(tmp_path: Path) -> None:
    # Given a local run holding its state folder
    env = _on_disk(tmp_path / "state")
    first = started(env)
    try:
        # When a second run starts on the same folder
        second = launch(env)
        # Then it stops with exit code 2 and says which process holds the folder
        assert second.process.wait(timeout=30) == 2
        assert "another local run" in second.errors()
        # And `--wipe` refuses while the folder is in use
        wipe = _wipe(env)
        assert wipe.returncode == 2
        assert (tmp_path / "state" / "secrets.json").exists()
    finally:
        first.stop()
    # When nothing runs, `--wipe` deletes the folder
    assert _wipe(env).returncode == 0
    assert not (tmp_path / "state").exists()


def _wipe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "local", "--wipe"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def test_the_demo_account_is_seeded_once_with_every_kind_of_entity(tmp_path: Path) -> None:
    # Given the local run started with the demo switch
    env = _on_disk(tmp_path / "state", LOCAL_DEMO="1")
    server = started(env)
    assert "demo account created: sign in as demo@example.com with the code 123456" in server.output()
    # When it restarts with the same switch
    server = _restart(server, env)
    try:
        assert "demo account already there" in server.output()
        with server.client() as client:
            # Then a frontend developer signs in with the documented email and code
            challenge = client.post("/api/auth/sign-in", json={"email": "demo@example.com"}).json()
            token = client.post(
                "/api/auth/verify", json={"challengeId": challenge["challengeId"], "code": "123456"}
            ).json()["token"]
            data = client.get("/api/user-data", headers=_bearer(token)).json()["data"]
    finally:
        server.stop()
    # And the account has several workspaces (once: the second start added nothing)
    assert [w["name"] for w in data["workspaces"]] == ["My Workspace", "Downtown Café", "Uptown Salon"]
    # complete and incomplete KBs, agents in every status, connections of every family
    assert {kb["status"] for kb in data["knowledgeBases"]} == {"complete", "incomplete"}
    assert {agent["status"] for agent in data["agents"]} == {"active", "inactive", "draft"}
    families = {"social-comments", "review-platforms", "facebook-messenger", "web-chat", "whatsapp", "sms"}
    assert {connection["family"] for connection in data["connections"]} == families


@pytest.fixture(scope="module")
def upstream_run(tmp_path_factory: pytest.TempPathFactory) -> LocalServer:
    state = tmp_path_factory.mktemp("upstream")
    server = started(clean_env(PORT="0", LOCAL_STATE_DIR=str(state), LOCAL_UPSTREAM="on"))
    yield server  # type: ignore[misc]
    server.stop()


def test_the_local_upstream_makes_live_agents_live_and_synced(upstream_run: LocalServer) -> None:
    # Given the local run with LOCAL_UPSTREAM=on and a new user
    assert "live agents: local upstream http://127.0.0.1:" in upstream_run.output()
    with upstream_run.client() as client:
        token = _sign_up(client, f"live-{uuid.uuid4().hex[:8]}@example.com")
        # When the agents are read twice (the first read sends the new account's agent upstream)
        client.get("/api/live-agents", headers=_bearer(token))
        listed = client.get("/api/live-agents", headers=_bearer(token)).json()
        # Then the answer comes from the service, and the agent the service lists back (in its own
        # record shape, normalized by the backend) is synced
        assert (listed["source"], listed["degraded"]) == ("live", False)
        assert [(a["id"], a["syncState"]) for a in listed["agents"]] == [("agent-default-1", "synced")]
        # When the service refuses an agent
        refused = client.post("/api/live-agents", headers=_bearer(token), json={
            "workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "Night [reject]"})  # fmt: skip
    # Then it is stored, and failed with the service's reason
    assert refused.status_code == 201, refused.text
    agent = refused.json()["agent"]
    assert agent["syncState"] == "failed"
    assert "[reject]" in agent["syncError"]


@pytest.mark.parametrize("behaviour", ["fail", "throttle", "slow"])
def test_a_misbehaving_local_upstream_shows_the_degraded_path(tmp_path: Path, behaviour: str) -> None:
    # Given the local upstream set to misbehave, with a short budget so "slow" is quick to see
    env = clean_env(PORT="0", LOCAL_STORE="memory", LOCAL_STATE_DIR=str(tmp_path), LOCAL_UPSTREAM=behaviour,
                    LOCAL_PARAMETER_OVERRIDES="LiveAgentsTimeoutMs=300")  # fmt: skip
    server = started(env)
    try:
        with server.client() as client:
            token = _sign_up(client, f"{behaviour}-{uuid.uuid4().hex[:8]}@example.com")
            # When a user creates an agent
            created = client.post("/api/live-agents", headers=_bearer(token), json={
                "workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "Evening"})  # fmt: skip
    finally:
        server.stop()
    # Then it is stored and pending, from the store, flagged degraded
    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["source"], answer["degraded"], answer["agent"]["syncState"]) == ("store", True, "pending")


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("TRACE", "/api/user-data", 401, "unauthorized"),  # behind the authorizer, like API Gateway
    ("PROPFIND", "/api/auth/sign-up", 405, "method_not_allowed"),
    ("TRACE", "/no/such/path", 404, "not_found"),
    ("BREW", "/", 404, "not_found"),
])  # fmt: skip
def test_every_method_and_path_answers_the_contracts_json(
    real_api: object, method: str, path: str, status: int, code: str
) -> None:
    server = real_api.server  # type: ignore[attr-defined]
    # When a method http.server does not know is sent
    with server.client() as client:
        response = client.request(method, path)
    # Then the answer is the contract's JSON error, never an HTML page
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


def test_a_malformed_request_gets_a_json_400(real_api: object) -> None:
    server = real_api.server  # type: ignore[attr-defined]
    # Given a request line http.server cannot parse
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"GET /api/user-data HTTP/9.x\r\n\r\n")
        answer = connection.recv(65536).decode()
    # Then the answer is JSON in the contract's shape, and the connection closes
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400")
    assert "Content-Type: application/json" in head
    assert json.loads(body)["error"]["code"] == "invalid_request"


def test_a_burst_of_clients_is_served_without_resets(real_api: object) -> None:
    server = real_api.server  # type: ignore[attr-defined]

    # Given 64 clients connecting at once (a test runner's burst; the old backlog of 5 reset some)
    def call(_: int) -> int:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as client:
            return client.get("/api/user-data").status_code

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(call, range(64)))
    # Then every one gets its answer
    assert statuses == [401] * 64


def test_the_console_shows_one_readable_line_per_request(real_api: object) -> None:
    server = real_api.server  # type: ignore[attr-defined]
    # When requests are made (sign-up writes audit records and metrics as JSON)
    with server.client() as client:
        _sign_up(client, f"console-{uuid.uuid4().hex[:8]}@example.com")
    # Then the console has the request lines, and no JSON record
    assert server.wait_for_output("\nPOST /api/auth/verify 200 "), server.output()
    assert not [line for line in server.output().splitlines() if line.startswith("{")]


def test_full_json_logs_are_behind_a_switch(tmp_path: Path) -> None:
    # Given LOCAL_LOG=json
    server = started(clean_env(PORT="0", LOCAL_STATE_DIR=str(tmp_path), LOCAL_LOG="json"))
    try:
        with server.client() as client:
            _sign_up(client, f"json-{uuid.uuid4().hex[:8]}@example.com")
    finally:
        server.stop()
    # Then the functions' JSON records (the audit of the sign-up) are on the console
    records = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    assert any(record.get("event") == "auth.sign_up.completed" for record in records)


@pytest.mark.parametrize(("path", "content_type"), [("/openapi.json", "application/json"),
                                                    ("/reference.html", "text/html")])  # fmt: skip
def test_the_api_description_and_its_reference_page_are_served_to_any_page(
    real_api: object, path: str, content_type: str
) -> None:
    server = real_api.server  # type: ignore[attr-defined]
    # When a page on another origin (an API tool, the app's dev server) loads them
    with server.client() as client:
        response = client.get(path, headers={"Origin": "http://localhost:5173"})
    # Then they are the checked-in documents, readable cross-origin
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.content == (ROOT / "docs" / "api" / path.lstrip("/")).read_bytes()


def test_answers_of_a_kilobyte_or_more_are_gzipped_for_a_client_that_accepts_it(real_api: object) -> None:
    server = real_api.server  # type: ignore[attr-defined]
    with server.client() as client:
        token = _sign_up(client, f"gzip-{uuid.uuid4().hex[:8]}@example.com")
        # When a browser reads its data (a new account's answer is a few KB) accepting gzip
        zipped = client.get("/api/user-data", headers={**_bearer(token), "Accept-Encoding": "gzip"})
        # and a client that does not
        plain = client.get("/api/user-data", headers={**_bearer(token), "Accept-Encoding": "identity"})
    # Then API Gateway's compression (MinimumCompressionSize 1024) applies to the first only
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json()
