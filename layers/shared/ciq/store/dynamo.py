"""Thin helpers over the DynamoDB client that turn its failures into domain outcomes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ciq.errors import AggregateTooLarge, AppError, DependencyUnavailable, InternalError, PayloadTooLarge
from ciq.settings import get_settings
from ciq.store.clients import botocore_error, client_error, dynamodb
from ciq.store.errors import ConditionFailed, VersionConflict

if TYPE_CHECKING:
    from collections.abc import Iterator

    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

MAX_TRANSACTION_ITEMS = 100
# DynamoDB refuses a transaction whose items total over 4 MB (ValidationException, which would be a 500).
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
_ITEM_OVERHEAD_BYTES = 100  # the size below is an estimate: keep a margin per item
_UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}
_log = logging.getLogger(__name__)


def table() -> str:
    return get_settings().table_name


def unavailable() -> DependencyUnavailable:
    return DependencyUnavailable("the data store is unavailable; retry shortly", headers={"Retry-After": "1"})


def fits_one_transaction(items: list[TransactWriteItemTypeDef]) -> bool:
    """Whether `transact` would accept these items (DynamoDB's count and size limits)."""
    return len(items) <= MAX_TRANSACTION_ITEMS and (
        sum(_transact_item_bytes(item) for item in items) <= MAX_TRANSACTION_BYTES
    )


def transact(items: list[TransactWriteItemTypeDef]) -> None:
    """Writes all items or none. The first item is the one whose condition means "version conflict"."""
    if len(items) > MAX_TRANSACTION_ITEMS:
        raise PayloadTooLarge(
            f"this change would write {len(items)} items; at most {MAX_TRANSACTION_ITEMS} are written "
            "atomically: send it as smaller requests"
        )
    size = sum(_transact_item_bytes(item) for item in items)
    if size > MAX_TRANSACTION_BYTES:
        raise PayloadTooLarge(
            f"this change would write about {size // 1024} KB; at most {MAX_TRANSACTION_BYTES // 1024} KB "
            "are written atomically: send it as smaller requests"
        )
    try:
        dynamodb().transact_write_items(TransactItems=items)
    except client_error() as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise _mapped(error) from error
        reasons = error.response.get("CancellationReasons", [])
        codes = [r.get("Code", "None") for r in reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            raise VersionConflict from error
        for index, code in enumerate(codes):
            if code == "ConditionalCheckFailed":
                raise ConditionFailed(index) from error
        # TransactionConflict (another transaction on the same items) is a version conflict too.
        if "TransactionConflict" in codes:
            raise VersionConflict from error
        for reason in reasons:
            if reason.get("Code") == "ValidationError":  # retrying would fail the same way: not a 503
                raise _refused("ValidationError", str(reason.get("Message", ""))) from None
        raise unavailable() from error
    except botocore_error() as error:
        raise unavailable() from error


def _transact_item_bytes(item: TransactWriteItemTypeDef) -> int:
    """An upper estimate of what one transaction item counts toward the 4 MB (DynamoDB's item size:
    attribute names plus values)."""
    size = _ITEM_OVERHEAD_BYTES
    for operation in item.values():
        for part in ("Item", "Key", "ExpressionAttributeValues"):
            attributes: dict[str, Any] = operation.get(part) or {}  # type: ignore[attr-defined]
            size += sum(len(name.encode()) + _value_bytes(value) for name, value in attributes.items())
    return size


def _value_bytes(value: dict[str, Any]) -> int:
    kind, data = next(iter(value.items()))
    if kind in ("S", "N"):
        return len(str(data).encode())
    if kind == "B":
        return len(data)
    if kind == "L":
        return 3 + sum(_value_bytes(v) for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) for k, v in data.items())
    if kind in ("SS", "NS"):
        return sum(len(str(v).encode()) for v in data)
    if kind == "BS":
        return sum(len(v) for v in data)
    return 1  # BOOL, NULL


def query_all(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query, page after page."""
    try:
        while True:
            page = dynamodb().query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except client_error() as error:
        raise _mapped(error) from error
    except botocore_error() as error:
        raise unavailable() from error


def call(operation: str, **kwargs: Any) -> Any:
    """One plain client call with the same error mapping (get_item, put_item, ...)."""
    try:
        return getattr(dynamodb(), operation)(**kwargs)
    except client_error() as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise ConditionFailed(0) from error
        raise _mapped(error) from error
    except botocore_error() as error:
        raise unavailable() from error


def _mapped(error: ClientError) -> Exception:
    code = error.response["Error"]["Code"]
    if code in _UNAVAILABLE:
        return unavailable()
    if code == "ValidationException":
        return _refused(code, str(error.response["Error"].get("Message", "")))
    return error


def _refused(code: str, message: str) -> AppError:
    """DynamoDB refused a call as invalid. An item over its size limit is 413 aggregate_too_large
    (the codec's pre-check should have caught it, so it is logged); anything else is our bug: a
    500 whose log line says what DynamoDB answered (docs/ops/resilience.md)."""
    reason = message[:300]
    if "size" in reason.lower():
        _log.error("dynamodb refused an item as too large (%s): %s", code, reason)
        return AggregateTooLarge("this change would make a stored item too large: split it across workspaces")
    failure = InternalError("the data store refused the write")
    failure.log_fields = {"error_kind": "dynamodb_refused", "aws_error_code": code, "reason": reason}  # type: ignore[attr-defined]
    return failure
