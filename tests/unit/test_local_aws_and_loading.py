"""The DynamoDB call lock used while DynamoDB is moto, and loading handlers by file path."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from local.aws import DynamoDbCallLock
from local.functions import load_functions
from local.stack import FunctionSpec

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def locked_client() -> Any:
    """A DynamoDB client on moto from a session carrying the lock, plus a probe of the lock state
    at the moment each request is sent."""
    with moto.mock_aws():
        session = boto3.session.Session()
        lock = DynamoDbCallLock()
        lock.install(session.events)
        held_while_sending: list[bool] = []
        session.events.register("before-send.dynamodb", lambda **_: held_while_sending.append(lock.held()))
        client = session.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="locked",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client, lock, held_while_sending


def test_the_lock_is_held_while_a_call_is_sent_and_released_after(locked_client: Any) -> None:
    # Given a client whose session carries the lock
    client, lock, held_while_sending = locked_client
    # When calls succeed, fail in DynamoDB, or fail validation before being sent
    client.put_item(TableName="locked", Item={"pk": {"S": "a"}})
    with pytest.raises(ClientError):
        client.put_item(
            TableName="locked", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)"
        )
    with pytest.raises(ParamValidationError):
        client.put_item(TableName="locked", Item={"pk": 1})
    # Then every request was sent under the lock, and the lock is free afterwards
    assert held_while_sending
    assert all(held_while_sending)
    assert not lock.held()


def function(directory: Path, logical_id: str, source: str, service: str | None = None) -> FunctionSpec:
    code = directory / logical_id
    code.mkdir()
    (code / "app.py").write_text(source)
    (code / "models.py").write_text(f"NAME = {logical_id!r}\n")
    environment = {"POWERTOOLS_SERVICE_NAME": service} if service else {}
    return FunctionSpec(logical_id, logical_id, code, "app.lambda_handler", environment, (), 3, 128)


APP = """
import os
import models

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME")


def lambda_handler(event, context):
    return {"models": models.NAME, "service": SERVICE}
"""


def test_each_function_gets_its_own_module_siblings_and_import_time_service(tmp_path: Path) -> None:
    # Given two functions whose app.py both import a sibling `models`, with their own service names
    first = function(tmp_path, "LocalTestFirst", APP, "first")
    second = function(tmp_path, "LocalTestSecond", APP, "second")
    imports = {f.logical_id: f.environment for f in (first, second)}
    service_before = os.environ.get("POWERTOOLS_SERVICE_NAME")
    # When both are loaded
    loaded = load_functions([first, second], imports)
    # Then each handler sees its own sibling module and its own service name
    for spec in (first, second):
        handler = loaded[spec.logical_id].handler
        assert handler is not None
        assert handler({}, None) == {
            "models": spec.logical_id,
            "service": spec.environment["POWERTOOLS_SERVICE_NAME"],
        }
    # And nothing of theirs is left behind: no `models` module, no sys.path entry, the service
    # name as it was before
    assert "models" not in sys.modules
    assert os.environ.get("POWERTOOLS_SERVICE_NAME") == service_before
    assert str(first.code_dir) not in sys.path


def test_a_function_that_cannot_import_is_reported_not_fatal(tmp_path: Path) -> None:
    # Given a function whose module raises while it is imported, and one without the handler
    broken = function(tmp_path, "LocalTestBroken", "raise RuntimeError('no config')\n")
    nameless = function(tmp_path, "LocalTestNameless", "x = 1\n")
    # When they are loaded
    loaded = load_functions([broken, nameless], {})
    # Then both carry their error instead of a handler
    assert loaded["LocalTestBroken"].handler is None
    assert "RuntimeError: no config" in (loaded["LocalTestBroken"].error or "")
    assert "no callable 'lambda_handler'" in (loaded["LocalTestNameless"].error or "")
