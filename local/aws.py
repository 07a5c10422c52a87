"""The AWS the handlers talk to in the local run: moto's in-process mock for everything, except
DynamoDB when boto3's own AWS_ENDPOINT_URL_DYNAMODB names another engine (DynamoDB Local, AWS).

moto's DynamoDB backend is plain Python dictionaries without locking. Under concurrent requests
two conditional writes can both pass their condition (seen: 9 of 100 trials of 8 racing
version-checked UpdateItems), and TransactWriteItems can crash with "dictionary changed size during
iteration". So while DynamoDB is moto, every DynamoDB call is serialized by a lock taken and released
through botocore's public event hooks on the default boto3 session (before-call / after-call /
after-call-error), which every client made by `boto3.client()` inherits. A real engine does its own
concurrency control, so no lock then."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from moto import mock_aws

from local.config import LocalRunError
from local.template import create_tables

if TYPE_CHECKING:
    from botocore.hooks import BaseEventHooks

_LOCK_MARK = "ciq_local_dynamodb_lock"  # set in botocore's per-call context when this call holds the lock


class DynamoDbCallLock:
    """One DynamoDB call at a time: acquired before a call is sent, released when its response (or
    its error) is back. The per-call `context` dict botocore passes to both hooks records whether
    this call holds the lock, so a release never frees someone else's acquisition."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def install(self, events: BaseEventHooks) -> None:
        events.register("before-call.dynamodb", self._acquire)
        events.register("after-call.dynamodb", self._release)
        events.register("after-call-error.dynamodb", self._release)

    def held(self) -> bool:
        return self._lock.locked()

    def _acquire(self, context: dict[str, Any], **_: Any) -> None:
        self._lock.acquire()
        context[_LOCK_MARK] = True

    def _release(self, context: dict[str, Any], **_: Any) -> None:
        if context.pop(_LOCK_MARK, False):
            self._lock.release()


class EmbeddedAws:
    def __init__(self, dynamodb_endpoint: str | None) -> None:
        self.dynamodb_endpoint = dynamodb_endpoint
        # With an endpoint, DynamoDB requests must leave the process even when the endpoint is an
        # amazonaws.com URL that moto would otherwise answer itself.
        passthrough = ["dynamodb"] if dynamodb_endpoint else []
        self._mock = mock_aws(
            config={"core": {"mock_credentials": False, "passthrough": {"services": passthrough}}}
        )
        self.lock: DynamoDbCallLock | None = None

    def start(self) -> None:
        self._mock.start()
        # moto resets boto3's default session on start; make the one every handler's client comes
        # from now, so the lock's hooks are on it before any client exists.
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        if session is None:
            raise LocalRunError("boto3 has no default session after setup_default_session()")
        if self.dynamodb_endpoint is None:
            self.lock = DynamoDbCallLock()
            self.lock.install(session.events)

    def stop(self) -> None:
        self._mock.stop()

    def create_tables(self, template: dict[str, Any], table_names: dict[str, str]) -> None:
        try:
            create_tables(boto3.client("dynamodb"), template, table_names)
        except (BotoCoreError, ClientError) as error:
            where = (
                f"AWS_ENDPOINT_URL_DYNAMODB={self.dynamodb_endpoint}" if self.dynamodb_endpoint else "moto"
            )
            raise LocalRunError(f"could not create the tables on {where}: {error}") from error

    def put_secret(self, parameter_name: str, value: str) -> None:
        """Writes an SSM SecureString of the embedded SSM (the auth secret, the upstream's key)."""
        boto3.client("ssm").put_parameter(
            Name=parameter_name, Type="SecureString", Value=value, Overwrite=True
        )
