"""Time budgets (issue 10 item 2; docs/ops/resilience.md "Time budgets"): every dependency call,
retries included, ends inside the function's remaining time, so a request against a store or SSM
that accepts connections and never answers is answered 503 with Retry-After before the function's
timeout, instead of hanging for botocore's defaults (21 s measured for one DynamoDB call, 181 s for
the SSM read). A real socket on 127.0.0.1; no moto."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import api_event, load_function, merged_headers

if TYPE_CHECKING:
    from collections.abc import Iterator

FUNCTION_TIMEOUT_SECONDS = 4.0


class Context:
    """A Lambda context whose remaining time runs down like the runtime's."""

    function_name = "budget-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:budget-test"
    aws_request_id = "req-budget"

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@pytest.fixture
def hanging_endpoint() -> Iterator[str]:
    """Accepts every connection and never answers (the connections are held until the test ends)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def invoke_timed(name: str, event: dict[str, Any]) -> tuple[int, dict[str, str], float]:
    module = load_function(name)
    started = time.monotonic()
    response = module.lambda_handler(event, Context(FUNCTION_TIMEOUT_SECONDS))
    return response["statusCode"], merged_headers(response), time.monotonic() - started


@pytest.mark.parametrize(
    ("function", "event_name", "body"),
    [
        ("user_data", "user-data-post", {"type": "group.create", "name": "G"}),
        ("user_data", "user-data-get", None),
        ("setup_status", "setup-status-patch", {"type": "dismissForSession"}),
    ],
)
def test_a_hanging_store_is_answered_503_within_the_functions_time(
    hanging_endpoint: str, monkeypatch: pytest.MonkeyPatch, function: str, event_name: str, body: Any
) -> None:
    # Given a DynamoDB endpoint that accepts connections and never answers, and a 4 s function
    from ciq.settings import reset_settings
    from ciq.store.clients import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", hanging_endpoint)
    reset_settings()
    reset_clients()

    # When a request reaches the store
    status, headers, elapsed = invoke_timed(function, api_event(event_name, body=body, user_id="u-hang"))

    # Then it is answered 503 with Retry-After, before the function's timeout
    assert status == 503
    assert int(headers["Retry-After"]) >= 1
    assert elapsed < FUNCTION_TIMEOUT_SECONDS


def test_a_hanging_ssm_is_answered_503_within_the_functions_time(
    hanging_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an SSM endpoint that accepts connections and never answers (the auth secret's read)
    from ciq.settings import reset_settings
    from ciq.store.clients import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", hanging_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", hanging_endpoint)
    reset_settings()
    reset_clients()

    # When a sign-in needs the secret
    status, headers, elapsed = invoke_timed("auth", api_event("auth-sign-in"))

    # Then it is answered 503 with Retry-After, before the function's timeout
    assert status == 503
    assert int(headers["Retry-After"]) >= 1
    assert elapsed < FUNCTION_TIMEOUT_SECONDS
