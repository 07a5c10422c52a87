"""Shared fixtures. moto is imported before anything creates a boto3 client (a client created
earlier would not be mocked); the table is created from template.yaml, so it cannot drift."""

from __future__ import annotations

import base64
import copy
import importlib
import json
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import moto  # must come before any boto3 client exists
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TABLE_NAME = "ciq-test-data"
AUTH_SECRET_PARAM = "/ciq/test/auth-secret"
APP_ORIGIN = "https://app.example.com"

_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "STAGE": "test",
    "TABLE_NAME": TABLE_NAME,
    "AUTH_SECRET_PARAM": AUTH_SECRET_PARAM,
    "VERIFICATION_MODE": "fixed",
    "EMAIL_SENDER": "outbox",
    "CORS_ALLOW_ORIGINS": APP_ORIGIN,
    "POWERTOOLS_SERVICE_NAME": "test",
    "POWERTOOLS_METRICS_NAMESPACE": "ConversionIQ",
    "WRITE_RETRY_SECONDS": "3",
    # Every sample event comes from one address: tests of the per-email limits request more than
    # the per-address-and-email default (3) of one email; tests/integration/test_source_address_limit.py
    # sets it back.
    "SOURCE_ADDRESS_EMAIL_CHALLENGE_LIMIT": "100",
}
os.environ.update(_TEST_ENV)
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_var, None)


def new_auth_secret() -> str:
    """The SSM SecureString value format (docs/ops/environment-and-secrets.md)."""

    def key() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()

    return json.dumps({"activeKid": "k1", "keys": {"k1": key()}, "pepper": key()})


@pytest.fixture(autouse=True)
def _fresh_process_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no cached settings, clients or parameters, and its own outbox."""
    from aws_lambda_powertools.utilities import parameters

    from ciq.settings import reset_settings
    from ciq.store.clients import reset_clients

    monkeypatch.setenv("LOCAL_OUTBOX_PATH", str(tmp_path / "outbox.jsonl"))
    reset_settings()
    reset_clients()
    parameters.clear_caches()
    yield
    reset_settings()
    reset_clients()
    parameters.clear_caches()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto DynamoDB + SSM with the template's table and a seeded auth secret."""
    import boto3

    from local.template import create_tables, load_template

    with moto.mock_aws():
        create_tables(boto3.client("dynamodb"), load_template(), {"DataTable": TABLE_NAME})
        boto3.client("ssm").put_parameter(
            Name=AUTH_SECRET_PARAM, Type="SecureString", Value=new_auth_secret()
        )
        yield


def load_function(name: str) -> ModuleType:
    """A function's handler module (functions/<name>/app.py)."""
    return importlib.import_module(f"functions.{name}.app")


def api_event(
    name: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    user_id: str | None = None,
    session_id: str = "sess-test",
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    method: str | None = None,
) -> dict[str, Any]:
    """A real API Gateway REST proxy event from events/<name>.json, adjusted for one test. A new
    body is encoded as API Gateway encodes it with this template (base64: BinaryMediaTypes */*)."""
    from local.events import with_body

    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))
    if raw_body is not None:
        with_body(event, raw_body)
    elif body is not None:
        with_body(event, json.dumps(body))
    if headers:
        event["headers"] = {**(event.get("headers") or {}), **headers}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    if user_id is not None:
        event["requestContext"]["authorizer"] = {
            "userId": user_id,
            "sessionId": session_id,
            "principalId": user_id,
        }
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    if method is not None:
        event["httpMethod"] = method
        event["requestContext"]["httpMethod"] = method
    return event


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


# One handler invocation at a time in the test process, as in a Lambda sandbox: Powertools keeps the
# request being handled on class attributes (the REST resolver's current_event, Logger's and Metrics'
# per-invocation state), so two threads inside handlers could answer each other's events. Tests of
# concurrency race the services or the store from threads instead (tests/*/test_user_data_concurrency.py).
ONE_INVOCATION_AT_A_TIME = threading.Lock()
_in_handler = threading.local()


def invoke(module: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Calls a handler; returns (status, headers, parsed JSON body or None)."""
    if getattr(_in_handler, "active", False):  # would wait for itself, and clobber the outer request
        raise AssertionError("a handler invoked from inside a handler: call the service instead")
    with ONE_INVOCATION_AT_A_TIME:
        _in_handler.active = True
        try:
            response = module.lambda_handler(event, LambdaContext())
        finally:
            _in_handler.active = False
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body)
        encoding = merged_headers(response).get("Content-Encoding")
        if encoding == "gzip":
            import gzip

            body = gzip.decompress(body)
        elif encoding == "deflate":
            import zlib

            body = zlib.decompress(body)
    parsed = json.loads(body) if body else None
    return response["statusCode"], merged_headers(response), parsed


def merged_headers(response: dict[str, Any]) -> dict[str, str]:
    """Headers as API Gateway sends them: `headers` and `multiValueHeaders` together."""
    headers = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values) if name.lower() != "set-cookie" else values[-1]
    return headers
