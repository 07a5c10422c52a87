"""Attribute encoding for large JSON bodies: plain text when small, zlib-compressed binary when not,
and a hard stop before DynamoDB's 400 KB item limit is ever attempted."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from ciq.errors import AggregateTooLarge, InternalError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

COMPRESS_FROM_BYTES = 4 * 1024
# DynamoDB items are at most 400 KB including names and keys; keep a margin for them.
MAX_BODY_BYTES = 380 * 1024


def encode_body(payload: bytes, what: str) -> dict[str, AttributeValueTypeDef]:
    """Returns the attributes that hold `payload` (`j` for JSON text, `z` for compressed JSON)."""
    if len(payload) < COMPRESS_FROM_BYTES:
        return {"j": {"S": payload.decode()}}
    packed = zlib.compress(payload, 6)
    if len(packed) > MAX_BODY_BYTES:
        raise AggregateTooLarge(
            f"{what} is too large to store ({len(packed) // 1024} KB compressed, at most "
            f"{MAX_BODY_BYTES // 1024} KB): split its knowledge bases across workspaces"
        )
    return {"z": {"B": packed}}


def decode_body(item: dict[str, Any]) -> bytes:
    if "j" in item:
        return str(item["j"]["S"]).encode()
    if "z" in item:
        try:
            return zlib.decompress(item["z"]["B"])
        except zlib.error as error:
            raise InternalError("a stored item could not be decoded") from error
    raise InternalError("a stored item has no body")
