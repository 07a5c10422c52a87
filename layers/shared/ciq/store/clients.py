"""boto3 clients, created lazily once per warm sandbox (never at import time).

boto3 and botocore are imported here, on the first client, not when a function's module is
imported: that keeps about 110 ms (more without .pyc) out of every function's init and out of the
requests that never reach AWS (CORS preflights, refused bodies). docs/performance.md has the figures."""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from ciq import budget

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError, ClientError
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_ssm import SSMClient


class Limits(NamedTuple):
    """What one call may take: per attempt, the connect and read timeouts; and the attempts."""

    connect: float
    read: float
    attempts: int


# Fail fast even without a budget: a request should answer 503 rather than hang until API
# Gateway's 29 s limit.
DEFAULT_LIMITS = Limits(connect=2, read=5, attempts=3)
_ATTEMPT_SECONDS = DEFAULT_LIMITS.connect + DEFAULT_LIMITS.read
_MAX_BACKOFF_SECONDS = 2.0  # standard mode sleeps at most 1 s, then 2 s, before a retry
_SMALLEST_CALL_SECONDS = 0.3  # below this a call could not answer: the budget is spent
_THROTTLES = frozenset(
    {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"}
)


def limits(seconds: float | None) -> Limits:
    """The limits of a call that must finish, retries included, within `seconds` (None: no budget).
    While a whole default attempt fits, the default client serves (its retries stop when the next
    would not fit: `_stop_when_spent`); below that, one attempt sized to whole seconds (the smallest
    call below one), so a warm sandbox keeps at most a handful of clients."""
    if seconds is None or seconds >= _ATTEMPT_SECONDS:
        return DEFAULT_LIMITS
    if seconds < _SMALLEST_CALL_SECONDS:
        raise budget.spent()
    bucket = float(math.floor(seconds)) if seconds >= 1 else _SMALLEST_CALL_SECONDS
    connect = min(DEFAULT_LIMITS.connect, bucket / 3)
    return Limits(connect, bucket - connect, 1)


def _stop_when_spent(response: Any = None, caught_exception: Any = None, **_: Any) -> None:
    """botocore's `needs-retry` event, before its own retry handler: a failed attempt is not
    retried when another default attempt (and its backoff) would overrun the time budget."""
    left = budget.remaining()
    if left is None or left >= _ATTEMPT_SECONDS + _MAX_BACKOFF_SECONDS:
        return
    failed = caught_exception is not None or (
        response is not None
        and (
            response[0].status_code >= 500
            or (response[1] or {}).get("Error", {}).get("Code") in _THROTTLES
        )
    )
    if failed:
        raise budget.spent()


def _client(service: str, limit: Limits, endpoint_url: str | None = None) -> Any:
    import boto3  # noqa: PLC0415 - lazy: see the module docstring
    from botocore.config import Config  # noqa: PLC0415 - lazy: see the module docstring

    config = Config(
        connect_timeout=limit.connect,
        read_timeout=limit.read,
        retries={"mode": "standard", "max_attempts": limit.attempts},
        tcp_keepalive=True,
    )
    client = boto3.client(service, config=config, endpoint_url=endpoint_url)  # type: ignore[call-overload]
    client.meta.events.register_first(f"needs-retry.{service}", _stop_when_spent)
    return client


def dynamodb() -> DynamoDBClient:
    """The client for the time this request has left (raises 503 when it has none)."""
    return _dynamodb(limits(budget.remaining()))


def sesv2() -> SESV2Client:
    return _sesv2(limits(budget.remaining()))


def ssm() -> SSMClient:
    return _ssm(limits(budget.remaining()))


@cache
def _dynamodb(limit: Limits) -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb", limit)
    return client


@cache
def _sesv2(limit: Limits) -> SESV2Client:
    client: SESV2Client = _client("sesv2", limit)
    return client


@cache
def _ssm(limit: Limits) -> SSMClient:
    client: SSMClient = _client("ssm", limit)
    return client


def socket_management(endpoint: str) -> Any:
    """The `@connections` API of one WebSocket API stage (live updates). Untyped: no stubs package."""
    return _socket_management(endpoint, limits(budget.remaining()))


@cache
def _socket_management(endpoint: str, limit: Limits) -> Any:
    return _client("apigatewaymanagementapi", limit, endpoint)


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
    _dynamodb.cache_clear()
    _sesv2.cache_clear()
    _ssm.cache_clear()
    _socket_management.cache_clear()
