"""Items of the sign-in flow (docs/architecture/persistence-model.md), each alone in its partition
with its kind as the sort key:

- `EMAIL#<emailHash>` / `EMAIL`: {userId, createdAt}, the email's owner; written with the user's root.
- `EMAIL#<emailHash>` / `VERIFY`: {failures, lockedUntil (epoch ms), v, ttl}, consecutive failed
  verifications of the email (sign-up and sign-in alike) and the lock they set.
- `CHALLENGE#<id>` / `CHALLENGE`: {purpose, emailHash, codeDigest, expiresAt, attempts, ttl, and
  userId for a sign-in or signUp (the fields to create) for a sign-up}.
- `RATE#<emailHash>` / `RATE`: {stamps (epoch ms), v, ttl}, the window of recently issued challenges.
- `ADDR#<sourceHash>#<windowStart>` / `ADDR`: {count, ttl}, auth requests of one source address in
  one fixed window.

and under the user, `USER#<userId>` / `S#<sessionId>`: {createdAt, expiresAt, ttl}, one session.

`ttl` (epoch seconds) only lets DynamoDB clean up; callers decide expiry by comparing `expiresAt`.
This module stores and conditions; it never decides a rule. The records it reads and writes are
ciq.auth.records (named here too); the port the services use is ciq.ports.AuthStore, whose adapter is
ciq.store.adapters.DynamoAuthStore."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ciq.auth.records import (
    Attempt,
    AttemptResult,
    ChallengeRecord,
    RateWindow,
    SessionRecord,
    VerifyFailures,
)
from ciq.store import keys
from ciq.store.codec import decode_record
from ciq.store.dynamo import call, table, transact
from ciq.store.errors import ConditionFailed
from ciq.store.records import RootRecord

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from ciq.contracts.entities import Profile

__all__ = ["Attempt", "AttemptResult", "ChallengeRecord", "RateWindow", "SessionRecord", "VerifyFailures"]

EMAIL_SK, CHALLENGE_SK, RATE_SK, VERIFY_SK, ADDRESS_SK = "EMAIL", "CHALLENGE", "RATE", "VERIFY", "ADDR"


def _email_key(email_hash: str) -> dict[str, Any]:
    return {"pk": {"S": keys.email_pk(email_hash)}, "sk": {"S": EMAIL_SK}}


def _challenge_key(challenge_id: str) -> dict[str, Any]:
    return {"pk": {"S": keys.challenge_pk(challenge_id)}, "sk": {"S": CHALLENGE_SK}}


def _rate_key(email_hash: str) -> dict[str, Any]:
    return {"pk": {"S": keys.rate_pk(email_hash)}, "sk": {"S": RATE_SK}}


def _verify_key(email_hash: str) -> dict[str, Any]:
    return {"pk": {"S": keys.email_pk(email_hash)}, "sk": {"S": VERIFY_SK}}


def _session_key(user_id: str, session_id: str) -> dict[str, Any]:
    return {"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": keys.session_sk(session_id)}}


def email_index_key(email_hash: str) -> dict[str, Any]:
    return _email_key(email_hash)


def email_side_keys(email_hash: str) -> list[dict[str, Any]]:
    """The email's items other than its index: verification failures and the challenge window."""
    return [_verify_key(email_hash), _rate_key(email_hash)]


def _get(key: dict[str, Any]) -> dict[str, Any] | None:
    response = call("get_item", TableName=table(), Key=key, ConsistentRead=True)
    item: dict[str, Any] | None = response.get("Item")
    return item


def write_all(items: Sequence[TransactWriteItemTypeDef]) -> None:
    """One transaction (see `ciq.store.dynamo.transact` for how a failed condition surfaces)."""
    transact(list(items))


# -- email index ------------------------------------------------------------------------------------


def user_id_for_email(email_hash: str) -> str | None:
    item = _get(_email_key(email_hash))
    return str(item["userId"]["S"]) if item else None


def email_item(email_hash: str, user_id: str, created_at: str) -> TransactWriteItemTypeDef:
    """Claims an email for a user; fails (ConditionalCheckFailed) when it is already claimed."""
    return {
        "Put": {
            "TableName": table(),
            "Item": {
                **_email_key(email_hash),
                "userId": {"S": user_id},
                "createdAt": {"S": created_at},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def load_profile(user_id: str) -> Profile | None:
    """The profile from the user's root item alone (one GetItem, not the whole account)."""
    item = _get({"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": keys.ROOT_SK}})
    return decode_record(RootRecord, item).profile if item else None


# -- challenges -------------------------------------------------------------------------------------


def put_challenge(challenge: ChallengeRecord, ttl: int) -> None:
    item: dict[str, Any] = {
        **_challenge_key(challenge.challenge_id),
        "purpose": {"S": challenge.purpose},
        "emailHash": {"S": challenge.email_hash},
        "codeDigest": {"S": challenge.code_digest},
        "expiresAt": {"S": challenge.expires_at},
        "attempts": {"N": str(challenge.attempts)},
        "ttl": {"N": str(ttl)},
    }
    if challenge.user_id is not None:
        item["userId"] = {"S": challenge.user_id}
    if challenge.sign_up is not None:
        item["signUp"] = {"S": json.dumps(challenge.sign_up)}
    call("put_item", TableName=table(), Item=item, ConditionExpression="attribute_not_exists(pk)")


def get_challenge(challenge_id: str) -> ChallengeRecord | None:
    item = _get(_challenge_key(challenge_id))
    if item is None:
        return None
    return ChallengeRecord(
        challenge_id=challenge_id,
        purpose=item["purpose"]["S"],
        email_hash=item["emailHash"]["S"],
        code_digest=item["codeDigest"]["S"],
        expires_at=item["expiresAt"]["S"],
        attempts=int(item["attempts"]["N"]),
        user_id=item["userId"]["S"] if "userId" in item else None,
        sign_up=json.loads(item["signUp"]["S"]) if "signUp" in item else None,
    )


def count_attempt(challenge_id: str, limit: int) -> AttemptResult:
    """Adds one attempt unless `limit` were already made. Atomic, so concurrent guesses together
    never make more than `limit` attempts."""
    key = _challenge_key(challenge_id)
    try:
        updated = call(
            "update_item",
            TableName=table(),
            Key=key,
            UpdateExpression="SET attempts = attempts + :one",
            ConditionExpression="attribute_exists(pk) AND attempts < :limit",
            ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(limit)}},
            ReturnValues="UPDATED_NEW",
        )
    except ConditionFailed:
        return AttemptResult(Attempt.REFUSED if _get(key) is not None else Attempt.GONE)
    return AttemptResult(Attempt.COUNTED, int(updated["Attributes"]["attempts"]["N"]))


def consume_challenge_item(challenge_id: str) -> TransactWriteItemTypeDef:
    """Deletes the challenge in the transaction that uses it; fails when it is already gone, so one
    code opens at most one session."""
    return {
        "Delete": {
            "TableName": table(),
            "Key": _challenge_key(challenge_id),
            "ConditionExpression": "attribute_exists(pk)",
        }
    }


def challenge_exists(challenge_id: str) -> bool:
    return _get(_challenge_key(challenge_id)) is not None


# -- rate window ------------------------------------------------------------------------------------


def get_rate_window(email_hash: str) -> RateWindow:
    item = _get(_rate_key(email_hash))
    if item is None:
        return RateWindow(stamps=[], version=0)
    return RateWindow(stamps=[int(s["N"]) for s in item["stamps"]["L"]], version=int(item["v"]["N"]))


def put_rate_window(email_hash: str, stamps: list[int], read_version: int, ttl: int) -> None:
    """Replaces the window only if nobody wrote it since `read_version` was read (ConditionFailed
    otherwise: read again and retry)."""
    _put_if_unchanged(
        _rate_key(email_hash), {"stamps": {"L": [{"N": str(s)} for s in stamps]}}, read_version, ttl
    )


def _put_if_unchanged(key: dict[str, Any], attributes: dict[str, Any], read_version: int, ttl: int) -> None:
    """Writes the item as version `read_version + 1` only if it is still at `read_version` (0: absent)."""
    condition: dict[str, Any] = (
        {"ConditionExpression": "attribute_not_exists(pk)"}
        if read_version == 0
        else {
            "ConditionExpression": "v = :read",
            "ExpressionAttributeValues": {":read": {"N": str(read_version)}},
        }
    )
    item = {**key, **attributes, "v": {"N": str(read_version + 1)}, "ttl": {"N": str(ttl)}}
    call("put_item", TableName=table(), Item=item, **condition)


# -- source address window -------------------------------------------------------------------------


def count_address_request(source_hash: str, window_start: int, ttl: int) -> int:
    """Adds one request to the address's window and returns the window's count, this one included
    (one atomic update: parallel requests each get their own count)."""
    updated = call(
        "update_item",
        TableName=table(),
        Key={"pk": {"S": keys.address_pk(source_hash, window_start)}, "sk": {"S": ADDRESS_SK}},
        UpdateExpression="ADD #count :one SET #ttl = :ttl",
        ExpressionAttributeNames={"#count": "count", "#ttl": "ttl"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(ttl)}},
        ReturnValues="UPDATED_NEW",
    )
    return int(updated["Attributes"]["count"]["N"])


# -- verification failures ------------------------------------------------------------------------


def get_verify_failures(email_hash: str) -> VerifyFailures:
    item = _get(_verify_key(email_hash))
    if item is None:
        return VerifyFailures(failures=0, locked_until_ms=0, version=0)
    return VerifyFailures(
        failures=int(item["failures"]["N"]),
        locked_until_ms=int(item["lockedUntil"]["N"]),
        version=int(item["v"]["N"]),
    )


def put_verify_failures(
    email_hash: str, failures: int, locked_until_ms: int, read_version: int, ttl: int
) -> None:
    """Replaces the count only if nobody wrote it since `read_version` was read (ConditionFailed
    otherwise), so parallel guesses each count once."""
    attributes = {"failures": {"N": str(failures)}, "lockedUntil": {"N": str(locked_until_ms)}}
    _put_if_unchanged(_verify_key(email_hash), attributes, read_version, ttl)


def clear_verify_failures(email_hash: str) -> None:
    call("delete_item", TableName=table(), Key=_verify_key(email_hash))


# -- sessions ---------------------------------------------------------------------------------------


def session_item(session: SessionRecord, ttl: int) -> TransactWriteItemTypeDef:
    return {
        "Put": {
            "TableName": table(),
            "Item": {
                **_session_key(session.user_id, session.session_id),
                "createdAt": {"S": session.created_at},
                "expiresAt": {"S": session.expires_at},
                "ttl": {"N": str(ttl)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def get_session(user_id: str, session_id: str) -> SessionRecord | None:
    """Strongly consistent, so a sign-out is seen by the very next request."""
    item = _get(_session_key(user_id, session_id))
    if item is None:
        return None
    return SessionRecord(
        user_id=user_id,
        session_id=session_id,
        created_at=item["createdAt"]["S"],
        expires_at=item["expiresAt"]["S"],
    )


def delete_session(user_id: str, session_id: str) -> None:
    call("delete_item", TableName=table(), Key=_session_key(user_id, session_id))
