"""boto3 clients, created lazily once per warm sandbox (never at import time).

boto3 and botocore are imported here, on the first client, not when a function's module is
imported: that keeps about 110 ms (more without .pyc) out of every function's init and out of the
requests that never reach AWS (CORS preflights, refused bodies). docs/performance.md has the figures."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client


@cache
def _config() -> Config:
    from botocore.config import Config  # noqa: PLC0415 - lazy: see the module docstring

    # Fail fast: a request should answer 503 rather than hang until API Gateway's 29 s limit.
    return Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
        tcp_keepalive=True,
    )


@cache
def dynamodb() -> DynamoDBClient:
    import boto3  # noqa: PLC0415 - lazy: see the module docstring

    return boto3.client("dynamodb", config=_config())


@cache
def sesv2() -> SESV2Client:
    import boto3  # noqa: PLC0415 - lazy: see the module docstring

    return boto3.client("sesv2", config=_config())


@cache
def socket_management(endpoint: str) -> Any:
    """The `@connections` API of one WebSocket API stage (live updates). Untyped: no stubs package."""
    import boto3  # noqa: PLC0415 - lazy: see the module docstring

    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=_config())


# botocore's exception classes for `except` clauses, which Python evaluates only when an exception
# reaches them: by then a client exists and botocore is loaded, so this import costs nothing more.
def client_error() -> type[ClientError]:
    from botocore.exceptions import ClientError  # noqa: PLC0415 - lazy: see above

    return ClientError


def botocore_error() -> type[BotoCoreError]:
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415 - lazy: see above

    return BotoCoreError


def reset_clients() -> None:
    """Tests and the local runner swap the AWS backend (moto, DynamoDB Local) between runs."""
    dynamodb.cache_clear()
    sesv2.cache_clear()
    socket_management.cache_clear()
