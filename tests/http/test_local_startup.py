"""Starting the local run: its URL, PORT, refusing a configuration it cannot honour, and the
switch to another DynamoDB with boto3's AWS_ENDPOINT_URL_DYNAMODB."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import TYPE_CHECKING

import boto3
import pytest

from tests.http.conftest import LOOPBACK_ONLY, clean_env, free_port, launch, started
from tests.http.throwaway_stack import write_throwaway_stack

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = LOOPBACK_ONLY


def test_port_is_respected_and_the_url_is_printed_when_ready(tmp_path: Path) -> None:
    # Given a free port in PORT
    port = free_port()
    template = write_throwaway_stack(tmp_path / "stack")
    # When the local run starts
    server = started(clean_env(PORT=str(port), AUTHORIZER_LOG=str(tmp_path / "a.jsonl")), template)
    try:
        # Then it prints http://localhost:<PORT> and serves there, on 127.0.0.1
        assert f"http://localhost:{port}" in server.output()
        assert server.port == port
        with server.client() as client:
            assert client.get("/public/echo").status_code == 200
    finally:
        assert server.stop() == 0  # SIGTERM is a clean stop


def test_conflicting_environment_values_refuse_to_start(tmp_path: Path) -> None:
    # Given two functions that want different values for the same variable
    template = write_throwaway_stack(tmp_path / "stack")
    text = template.read_text().replace(
        "      CodeUri: slow/\n",
        "      CodeUri: slow/\n      Environment:\n        Variables:\n          STAGE: something-else\n",
    )
    template.write_text(text)
    # When the local run starts
    server = launch(clean_env(PORT="0"), template)
    # Then it exits with an explanation instead of serving one of them with the wrong value
    assert server.process.wait(timeout=30) == 2
    assert "STAGE" in server.errors()
    assert "SlowFunction='something-else'" in server.errors()
    assert server.port == 0


def test_a_parameter_override_outside_the_allowed_values_refuses_to_start(tmp_path: Path) -> None:
    # Given LOCAL_PARAMETER_OVERRIDES with a Stage the template's AllowedPattern refuses (real template)
    server = launch(clean_env(PORT="0", LOCAL_PARAMETER_OVERRIDES="Stage=Not_Valid"))
    # Then the start fails with the parameter named
    assert server.process.wait(timeout=30) == 2
    assert "Stage='Not_Valid'" in server.errors()


@pytest.fixture
def other_dynamodb() -> Iterator[str]:
    """Another DynamoDB engine on 127.0.0.1: moto's standalone server in its own process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_listening(endpoint)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wait_until_listening(endpoint: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.list_tables()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_aws_endpoint_url_dynamodb_sends_dynamodb_to_that_engine(tmp_path: Path, other_dynamodb: str) -> None:
    # Given another DynamoDB engine named by boto3's own variable
    template = write_throwaway_stack(tmp_path / "stack")
    env = clean_env(
        PORT="0", AWS_ENDPOINT_URL_DYNAMODB=other_dynamodb, AUTHORIZER_LOG=str(tmp_path / "a.jsonl")
    )
    # When the local run starts and a handler writes
    server = started(env, template)
    try:
        with server.client() as client:
            assert client.post("/public/claim/k-1?parties=1&group=g").status_code == 201
            # And the auth secret still comes from the embedded SSM
            assert client.get("/public/echo").json()["authSecret"]["activeKid"] == "local-1"
    finally:
        server.stop()
    # Then the table was created on that engine and the item is there, not in an embedded copy
    engine = boto3.client("dynamodb", endpoint_url=other_dynamodb)
    assert "throwaway-local-data" in engine.list_tables()["TableNames"]
    item = engine.get_item(TableName="throwaway-local-data", Key={"pk": {"S": "k-1"}, "sk": {"S": "claim"}})
    assert "Item" in item
    assert f"DynamoDB: {other_dynamodb}" in server.output()
