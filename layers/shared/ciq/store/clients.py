"""boto3 clients, created lazily once per warm sandbox (never at import time)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client

# Fail fast: a request should answer 503 rather than hang until API Gateway's 29 s limit.
_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    tcp_keepalive=True,
)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sesv2() -> SESV2Client:
    return boto3.client("sesv2", config=_CONFIG)


def reset_clients() -> None:
    """Tests and the local runner swap the AWS backend (moto, DynamoDB Local) between runs."""
    dynamodb.cache_clear()
    sesv2.cache_clear()
