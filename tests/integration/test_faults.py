"""Faults of the dependencies, through the real handlers on moto (CONTRACT §4 errors, §5, §7, §9;
docs/ops/resilience.md): DynamoDB throttling and timeouts on read and on write, transaction
cancellations, SSM down at a cold start, stored items that cannot be decoded, and the live-agents
service dropping the connection mid-answer. Each: the documented status, nothing half-written
(stored items and version unchanged), and a structured log line an operator can alarm on.

Faults are real botocore exceptions raised by the client methods the store calls (monkeypatched on
the one cached client, so botocore's own retries are not replayed here)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from tests.conftest import EVENTS, TABLE_NAME, LambdaContext, api_event, invoke, load_function
from tests.integration.conftest import Client, create_user
from tests.integration.live_agents_support import API_KEY, LiveClient

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"
SIGN_UP = {
    "firstName": "Jane",
    "lastName": "Doe",
    "email": "faults@example.com",
    "company": "Acme",
    "phone": "+14155550123",
}


def throttled(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Rate of requests exceeds"}}, operation)


FAULTS: dict[str, Callable[[str], Exception]] = {
    "ProvisionedThroughputExceeded": lambda op: throttled("ProvisionedThroughputExceededException", op),
    "Throttling": lambda op: throttled("ThrottlingException", op),
    "ReadTimeout": lambda _: ReadTimeoutError(endpoint_url=ENDPOINT),
    "ConnectTimeout": lambda _: ConnectTimeoutError(endpoint_url=ENDPOINT),
    "EndpointConnection": lambda _: EndpointConnectionError(endpoint_url=ENDPOINT),
}


def canceled(*reasons: dict[str, str]) -> ClientError:
    """A TransactionCanceledException as botocore parses it (reasons at the top of the response)."""
    response: Any = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": list(reasons),
    }
    return ClientError(response, "TransactWriteItems")


def stored(user_id: str) -> dict[str, dict[str, Any]]:
    """Every item of the user's partition, straight from the table (a fresh client: no fault)."""
    pages = boto3.client("dynamodb").query(
        TableName=TABLE_NAME,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}},
        ConsistentRead=True,
    )
    return {item["sk"]["S"]: item for item in pages["Items"]}


def error_logs(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The ERROR lines the functions' Powertools loggers wrote, as the JSON they print to stdout
    (formatted by the logger's own formatter: capsys cannot see a stream bound at import time)."""
    lines = []
    for record in caplog.records:
        handlers = logging.getLogger(record.name).handlers
        if record.levelno == logging.ERROR and handlers and handlers[0].formatter is not None:
            lines.append(json.loads(handlers[0].formatter.format(record)))
    return lines


def patch_dynamodb(monkeypatch: pytest.MonkeyPatch, operation: str, replacement: Callable[..., Any]) -> None:
    from ciq.store.clients import dynamodb

    monkeypatch.setattr(dynamodb(), operation, replacement)


def raising(error: Exception) -> Callable[..., Any]:
    def fail(**_: Any) -> Any:
        raise error

    return fail


def assert_clean_error(status: int, headers: dict[str, str], body: Any, expected: tuple[int, str]) -> None:
    assert (status, body["error"]["code"]) == expected, body
    assert headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in json.dumps(body)
    assert "botocore" not in json.dumps(body)


# -- DynamoDB throttling and timeouts ---------------------------------------------------------------
@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("where", ["read", "write"])
def test_throttling_and_timeouts_are_503_with_retry_after_and_write_nothing(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    where: str,
) -> None:
    # Given an account at version 1, then DynamoDB failing on Query (read) or TransactWriteItems (write)
    client.data()
    before = stored(client.user_id)
    operation = {"read": ("query", "Query"), "write": ("transact_write_items", "TransactWriteItems")}[where]
    patch_dynamodb(monkeypatch, operation[0], raising(FAULTS[fault](operation[1])))
    caplog.clear()

    # When a mutation is sent (and, on a read fault, a GET)
    answers = [client.post({"type": "group.create", "name": "G"}, idempotency_key="fault-1")]
    if where == "read":
        answers.append(client.get())

    # Then 503 dependency_unavailable with Retry-After, and one ERROR log line per request
    for status, headers, body in answers:
        assert_clean_error(status, headers, body, (503, "dependency_unavailable"))
        assert int(headers["Retry-After"]) >= 1
    logged = error_logs(caplog)
    assert [(line["message"], line["error_code"]) for line in logged] == [
        ("request failed", "dependency_unavailable")
    ] * len(answers)
    assert all(line["function_request_id"] == LambdaContext.aws_request_id for line in logged)

    # And nothing was written: same items, same version, no idempotency record
    monkeypatch.undo()
    assert stored(client.user_id) == before
    assert client.data()[1] == 1


# -- transaction cancellations ----------------------------------------------------------------------
def test_a_transient_transaction_conflict_is_retried_and_lands_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB cancels the first two transactions (another transaction on the same items)
    from ciq.store.clients import dynamodb

    client.data()
    real = dynamodb().transact_write_items
    calls: list[int] = []

    def conflicting(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise canceled({"Code": "None"}, {"Code": "TransactionConflict", "Message": "ongoing"})
        return real(**kwargs)

    patch_dynamodb(monkeypatch, "transact_write_items", conflicting)

    # When a mutation is sent, Then it is retried server-side and applied exactly once
    body = client.ok({"type": "group.create", "name": "Retried"})
    assert (len(calls), body["version"]) == (3, 2)
    assert [g["name"] for g in client.data()[0]["groups"]].count("Retried") == 1


def test_a_transaction_conflict_that_never_clears_is_409_or_412_with_if_match(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ciq.settings import reset_settings

    # Given every transaction is cancelled by TransactionConflict (retries limited to 0.2 s)
    client.data()
    before = stored(client.user_id)
    monkeypatch.setenv("WRITE_RETRY_SECONDS", "0.2")
    reset_settings()
    patch_dynamodb(
        monkeypatch,
        "transact_write_items",
        raising(canceled({"Code": "TransactionConflict", "Message": "x"})),
    )

    # When an intent-based mutation is sent, Then 409 concurrent_modification with Retry-After
    status, headers, body = client.post({"type": "group.create", "name": "G"})
    assert_clean_error(status, headers, body, (409, "concurrent_modification"))
    assert int(headers["Retry-After"]) >= 1
    # And with If-Match, 412 version_mismatch at once
    status, headers, body = client.post({"type": "group.create", "name": "G"}, headers={"If-Match": '"1"'})
    assert_clean_error(status, headers, body, (412, "version_mismatch"))

    monkeypatch.undo()
    reset_settings()
    assert stored(client.user_id) == before


SIZE_MESSAGE = "Item size has exceeded the maximum allowed size"


@pytest.mark.parametrize(
    "case",
    [
        (
            canceled({"Code": "None"}, {"Code": "ValidationError", "Message": SIZE_MESSAGE}),
            (413, "aggregate_too_large"),
        ),
        (
            ClientError(
                {"Error": {"Code": "ValidationException", "Message": SIZE_MESSAGE}}, "TransactWriteItems"
            ),
            (413, "aggregate_too_large"),
        ),
        (
            canceled({"Code": "ValidationError", "Message": "Invalid UpdateExpression"}),
            (500, "internal_error"),
        ),
        (
            ClientError(
                {
                    "Error": {
                        "Code": "ValidationException",
                        "Message": "Transaction request cannot include multiple operations on one item",
                    }
                },
                "TransactWriteItems",
            ),
            (500, "internal_error"),
        ),
        (
            canceled({"Code": "ThrottlingError", "Message": "Throughput exceeds"}),
            (503, "dependency_unavailable"),
        ),
    ],
    ids=["cancel-size", "validation-size", "cancel-invalid", "validation-other", "cancel-throttled"],
)
def test_a_transaction_refused_by_dynamodb_answers_its_documented_status(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    case: tuple[ClientError, tuple[int, str]],
) -> None:
    error, expected = case
    # Given DynamoDB refuses the write transaction in one of its ways
    client.data()
    before = stored(client.user_id)
    patch_dynamodb(monkeypatch, "transact_write_items", raising(error))
    caplog.clear()

    # When a mutation is sent
    status, headers, body = client.post({"type": "group.create", "name": "G"})

    # Then the documented status (never a 503 that retrying cannot fix, never a 422), nothing written
    assert_clean_error(status, headers, body, expected)
    logged = error_logs(caplog)
    if expected[0] == 500:
        # And the operator's log line says what DynamoDB answered
        assert [(line["error_code"], line["error_kind"]) for line in logged] == [
            ("internal_error", "dynamodb_refused")
        ]
        assert logged[0]["aws_error_code"] in {"ValidationError", "ValidationException"}
    if expected[0] == 413:
        # The codec's size check should have caught it: logged at ERROR all the same
        assert any("too large" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    monkeypatch.undo()
    assert stored(client.user_id) == before


# -- stored items that cannot be decoded ------------------------------------------------------------
CORRUPTIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "workspace-zlib": ("D#WS#ws-1", {"z": {"B": b"\x78\x9cnot zlib at all"}}, "zlib"),
    "workspace-json": ("D#WS#ws-1", {"j": {"S": '{"workspace": {"id": "ws-1",'}}, "WorkspaceRecord"),
    "workspace-fragments": (
        "D#WS#ws-1",
        {
            "af": {"N": "2"},
            "fp": {"B": b"0" * 16},
            "pz": {"B": b"\xff\xfe not deflate"},
            "pc": {"N": "1"},
            "px": {"S": '[["w","",15,9,1,1]]'},
        },
        "checksum",
    ),
    "root-json": ("D#ROOT", {"j": {"S": "{not json"}}, "RootRecord"),
    "root-schema": ("D#ROOT", {"j": {"S": '{"schema_version": "one"}'}}, "RootRecord"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_stored_item_is_a_logged_500_never_a_422(
    client: Client, caplog: pytest.LogCaptureFixture, corruption: str
) -> None:
    # Given an account one of whose stored items was damaged (the body replaced)
    client.data()
    sk, body, reason = CORRUPTIONS[corruption]
    item = stored(client.user_id)[sk]
    item = {k: v for k, v in item.items() if k not in ("j", "z", "af", "fp", "pz", "pc", "px")} | body
    boto3.client("dynamodb").put_item(TableName=TABLE_NAME, Item=item)
    before = stored(client.user_id)
    caplog.clear()

    # When the data is read and a mutation is sent
    answers = [client.get(), client.post({"type": "group.create", "name": "G"})]

    # Then each is 500 internal_error with no detail of the item, and nothing is written
    for status, headers, answer in answers:
        assert_clean_error(status, headers, answer, (500, "internal_error"))
        assert answer["error"]["details"] == []
    assert stored(client.user_id) == before
    # And each logged one ERROR line naming the item and why, for an operator to find and repair it
    logged = error_logs(caplog)
    assert len(logged) == 2
    for line in logged:
        assert (line["message"], line["error_code"], line["error_kind"]) == (
            "request failed",
            "internal_error",
            "corrupt_item",
        )
        assert (line["item_pk"], line["item_sk"]) == (f"USER#{client.user_id}", sk)
        assert reason in line["reason"]
        assert "Traceback" not in json.dumps(line)


# -- SSM unavailable at a cold start ----------------------------------------------------------------
def take_ssm_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every SSM call fails to connect; caches cleared, as in a new sandbox (the autouse
    fixture of tests/conftest.py clears them again after the test)."""
    from aws_lambda_powertools.utilities import parameters
    from botocore.client import BaseClient

    real = BaseClient._make_api_call

    def call(self: BaseClient, operation: str, params: Any) -> Any:
        if self.meta.service_model.service_name == "ssm":
            raise EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com")
        return real(self, operation, params)

    parameters.clear_caches()
    monkeypatch.setattr(BaseClient, "_make_api_call", call)


def open_session(auth: ModuleType) -> str:
    status, _, started = invoke(auth, api_event("auth-sign-up", body=SIGN_UP))
    assert status == 201, started
    verify = {"challengeId": started["challengeId"], "code": "123456"}
    status, _, opened = invoke(auth, api_event("auth-verify", body=verify))
    assert status == 200, opened
    return str(opened["token"])


def test_ssm_down_at_cold_start_the_authorizer_never_allows_and_auth_routes_are_503(
    moto_table: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ciq.errors import DependencyUnavailable

    # Given a valid session, then SSM unreachable from a new sandbox
    auth, authorizer = load_function("auth"), load_function("authorizer")
    token = open_session(auth)
    event = json.loads((EVENTS / "authorizer-request.json").read_text())
    event["headers"] = {"Authorization": f"Bearer {token}"}
    event["multiValueHeaders"] = {"Authorization": [f"Bearer {token}"]}
    before = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Count"]
    take_ssm_down(monkeypatch)
    caplog.clear()

    # When the authorizer runs, Then it fails as an outage: no allow policy, not "Unauthorized" (401)
    with pytest.raises(DependencyUnavailable):
        authorizer.lambda_handler(event, LambdaContext())
    # And the AuthorizerFailure metric (the alarmed one) is printed
    assert "AuthorizerFailure" in capsys.readouterr().out

    # When someone signs up or verifies, Then 503 with Retry-After and nothing stored
    for name, body in (
        ("auth-sign-up", SIGN_UP),
        ("auth-verify", {"challengeId": "c" * 20, "code": "123456"}),
    ):
        status, headers, answer = invoke(auth, api_event(name, body=body))
        assert_clean_error(status, headers, answer, (503, "dependency_unavailable"))
        assert int(headers["Retry-After"]) >= 1
    logged = error_logs(caplog)
    assert [line["error_code"] for line in logged] == ["dependency_unavailable"] * 2
    assert any("auth secret could not be read" in r.getMessage() for r in caplog.records)
    assert boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Count"] == before


# -- the live-agents service drops the connection mid-answer ----------------------------------------
class DroppingServer:
    """Answers every request with a 200 status line and headers promising a body, sends part of it,
    then closes the connection."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.requests = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    self.requests += 1
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n"
                        b'{"agents": [{"id": "agent-'
                    )
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def test_a_connection_dropped_mid_sync_is_degraded_and_loses_no_write(
    moto_table: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ciq.live_agents.client import reset_client
    from ciq.settings import reset_settings

    # Given a live-agents service that drops every connection after the headers
    server = DroppingServer()
    boto3.client("ssm").put_parameter(
        Name="/ciq/test/la-key", Type="SecureString", Value=API_KEY, Overwrite=True
    )
    monkeypatch.setenv("LIVE_AGENTS_API_URL", server.url)
    monkeypatch.setenv("LIVE_AGENTS_API_KEY_PARAM", "/ciq/test/la-key")
    monkeypatch.setenv("LIVE_AGENTS_TIMEOUT_MS", "3000")
    reset_settings()
    reset_client()
    lc = LiveClient(load_function("live_agents"), create_user())
    data = Client(load_function("user_data"), lc.user_id)
    try:
        # When the agents are listed and one is created
        listed = lc.list()
        status, _, created = lc.create(
            {"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "Night"}
        )
    finally:
        server.close()
        reset_client()

    # Then both answer from the store, degraded; the write is stored, pending (sent later)
    assert (listed["source"], listed["degraded"]) == ("store", True)
    assert status == 201
    assert (created["source"], created["degraded"], created["agent"]["syncState"]) == (
        "store",
        True,
        "pending",
    )
    agents = {a["id"]: a for a in data.data()[0]["agents"]}
    assert agents[created["agent"]["id"]]["syncState"] == "pending"
    assert server.requests >= 2
    # And the failure is logged as a transport error of the service
    assert any(
        "live-agents" in r.getMessage()
        and "RemoteProtocolError" in r.getMessage()
        and r.levelno >= logging.WARNING
        for r in caplog.records
    )
