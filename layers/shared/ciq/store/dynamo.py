"""Thin helpers over the DynamoDB client that turn its failures into domain outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ciq.errors import DependencyUnavailable, PayloadTooLarge
from ciq.settings import get_settings
from ciq.store.clients import dynamodb
from ciq.store.errors import ConditionFailed, VersionConflict

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

MAX_TRANSACTION_ITEMS = 100
_UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}


def table() -> str:
    return get_settings().table_name


def unavailable() -> DependencyUnavailable:
    return DependencyUnavailable("the data store is unavailable; retry shortly", headers={"Retry-After": "1"})


def transact(items: list[TransactWriteItemTypeDef]) -> None:
    """Writes all items or none. The first item is the one whose condition means "version conflict"."""
    if len(items) > MAX_TRANSACTION_ITEMS:
        raise PayloadTooLarge(
            f"this change would write {len(items)} items; at most {MAX_TRANSACTION_ITEMS} are written "
            "atomically: send it as smaller requests"
        )
    try:
        dynamodb().transact_write_items(TransactItems=items)
    except ClientError as error:
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
        raise unavailable() from error
    except BotoCoreError as error:
        raise unavailable() from error


def query_all(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query, page after page."""
    try:
        while True:
            page = dynamodb().query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except ClientError as error:
        raise _mapped(error) from error
    except BotoCoreError as error:
        raise unavailable() from error


def call(operation: str, **kwargs: Any) -> Any:
    """One plain client call with the same error mapping (get_item, put_item, ...)."""
    try:
        return getattr(dynamodb(), operation)(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise ConditionFailed(0) from error
        raise _mapped(error) from error
    except BotoCoreError as error:
        raise unavailable() from error


def _mapped(error: ClientError) -> Exception:
    code = error.response["Error"]["Code"]
    if code in _UNAVAILABLE:
        return unavailable()
    return error
