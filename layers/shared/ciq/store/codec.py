"""Attribute encoding for large JSON bodies: plain text when small, zlib-compressed binary when not,
and a hard stop before DynamoDB's 400 KB item limit is ever attempted."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from ciq.errors import AggregateTooLarge, InternalError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Model = TypeVar("Model", bound=BaseModel)

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


class CorruptItem(InternalError):
    """A stored item that cannot be read back: never the caller's fault, so a 500 `internal_error`
    (not a 422), logged at ERROR with `log_fields` (which item, why) for an operator to find and
    repair it (docs/ops/resilience.md). The response body says nothing more than that."""

    def __init__(self, item: dict[str, Any], reason: str) -> None:
        super().__init__("a stored item could not be decoded")
        self.log_fields = {
            "error_kind": "corrupt_item",
            "item_pk": str(item.get("pk", {}).get("S", "")),
            "item_sk": str(item.get("sk", {}).get("S", "")),
            "reason": reason,
        }


def decode_body(item: dict[str, Any]) -> bytes:
    if "j" in item:
        return str(item["j"]["S"]).encode()
    if "z" in item:
        try:
            return zlib.decompress(item["z"]["B"])
        except zlib.error as error:
            raise CorruptItem(item, f"zlib: {error}") from None
    raise CorruptItem(item, "no body attribute")


def decode_record(model: type[Model], item: dict[str, Any], body: bytes | None = None) -> Model:
    """The item's body (`body`, when already decoded) as `model`; a body that is not valid JSON or
    not the model is a CorruptItem. The reason names the failing fields and error types only, never
    the stored values."""
    try:
        return model.model_validate_json(decode_body(item) if body is None else body)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        shown = "; ".join(f"{'/'.join(map(str, e['loc'])) or '(body)'}: {e['type']}" for e in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CorruptItem(item, f"{model.__name__}: {shown}{more}") from None
