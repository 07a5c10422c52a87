"""The user store: one account = a root item plus one item per workspace, under the user's partition.

Reads are one (paged) Query. Writes are one transaction: the root, conditioned on the version that
was read, plus only the workspace items that changed. See docs/architecture/persistence-model.md.

A write may carry a commit token, stored on the root with the tokens of the writes before it (`cts`,
the newest RECENT_COMMITS): when the transaction's reply is lost (a timeout, or botocore resending
a request that had committed, which then fails its own condition), `committed` tells whether that
very write landed, on any engine, even when other writes committed after it before the check."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ciq.contracts.entities import SCHEMA_VERSION
from ciq.errors import AggregateTooLarge, AppError, ConcurrentModification, ConditionFailed
from ciq.ports import StoredAnswer
from ciq.store import commits, fragments, keys
from ciq.store.codec import decode_record, encode_body
from ciq.store.dynamo import (
    MAX_TRANSACTION_BYTES,
    MAX_TRANSACTION_ITEMS,
    call,
    fits_one_transaction,
    query_all,
    table,
    transact,
    unavailable,
)
from ciq.store.errors import VersionConflict
from ciq.store.records import (
    IdIndex,
    RootRecord,
    assemble,
    id_index,
    outside_of,
    root_record,
    workspace_records,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from ciq.domain.account import Account
    from ciq.domain.reach import Reach
    from ciq.store.records import WorkspaceRecord

TORN_READ_RETRIES = 5
_log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """An account as read, with what is needed to write back only what changed."""

    account: Account
    version: int
    workspace_versions: dict[str, int] = field(default_factory=dict)
    fingerprints: dict[str, bytes] = field(default_factory=dict)
    commit_tokens: list[str] = field(default_factory=list)  # of the latest writes, newest first
    index: IdIndex | None = None  # the index item, as read (None: not read, or none yet)
    index_version: int | None = None  # the root's version of it
    stale: list[str] = field(default_factory=list)  # workspace items not in the current answer form


def load(user_id: str) -> Snapshot | None:
    """The user's account, or None when the user has no root item."""
    return _untorn(lambda: _read(user_id))


_TORN = object()
_T = TypeVar("_T")


def _untorn(read: Callable[[], _T | object]) -> _T:
    """`read` again while it catches a write half-way (it answers _TORN: an item of another version
    than the root names), after a short pause; 409 with Retry-After when it keeps doing so."""
    for attempt in range(TORN_READ_RETRIES):
        if attempt:
            time.sleep(0.01 * attempt)  # let the write in progress finish
        answer = read()
        if answer is not _TORN:
            return answer  # type: ignore[return-value]
    raise ConcurrentModification(
        "the account is being written by another request; retry shortly", headers={"Retry-After": "1"}
    )


def _data_items(user_id: str) -> Iterator[dict[str, Any]]:
    """Every item of the account's data (`D#`: the root, the id index, the workspace items), from
    one strongly consistent Query, paged."""
    return query_all(
        TableName=table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": keys.user_pk(user_id)}, ":prefix": {"S": keys.DATA_PREFIX}},
        ConsistentRead=True,
    )


def stored_version(user_id: str) -> int | None:
    """The account's version from its root item alone (one consistent GetItem projecting one
    attribute), or None when the user has no root item."""
    answer = call(
        "get_item",
        TableName=table(),
        Key={"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": keys.ROOT_SK}},
        ProjectionExpression="version",
        ConsistentRead=True,
    )
    item = answer.get("Item")
    return int(item["version"]["N"]) if item else None


def _by_kind(items: Iterable[dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The root item, and the workspace items by workspace id (the index item under INDEX_SK), of
    one Query's items."""
    root_item: dict[str, Any] | None = None
    workspace_items: dict[str, dict[str, Any]] = {}
    for item in items:
        sk = item["sk"]["S"]
        if sk == keys.ROOT_SK:
            root_item = item
        elif sk.startswith(keys.WORKSPACE_SK_PREFIX):
            workspace_items[sk[len(keys.WORKSPACE_SK_PREFIX) :]] = item
        elif sk == keys.INDEX_SK:
            workspace_items[keys.INDEX_SK] = item
    return root_item, workspace_items


def _read(user_id: str) -> Snapshot | object | None:
    root_item, workspace_items = _by_kind(_data_items(user_id))
    if root_item is None:
        return None
    root = decode_record(RootRecord, root_item)
    records, fingerprints, stale = [], {}, []
    for workspace_id in root.workspace_order:
        stored = workspace_items.get(workspace_id)
        if stored is None or int(stored["v"]["N"]) != root.workspace_versions.get(workspace_id):
            return _TORN
        record, fingerprints[workspace_id], fresh = fragments.decode_workspace(stored)
        records.append(record)
        if not fresh:
            stale.append(workspace_id)
    return Snapshot(
        account=assemble(user_id, root, records),
        version=int(root_item["version"]["N"]),
        workspace_versions=dict(root.workspace_versions),
        fingerprints=fingerprints,
        commit_tokens=_commit_tokens(root_item),
        index=_index(root, workspace_items.get(keys.INDEX_SK)),
        index_version=root.index_version,
        stale=stale,
    )


def _index(root: RootRecord, item: dict[str, Any] | None) -> IdIndex | None:
    """The index item when it is the one the root names (else None: the next write rewrites it)."""
    if item is None or root.index_version is None or int(item["v"]["N"]) != root.index_version:
        return None
    return decode_record(IdIndex, item)


def load_reach(user_id: str, reach: Reach) -> Snapshot | None:
    """The root and only the workspace items `reach` names or holds (one or two BatchGetItem calls):
    a partial account (ciq.domain.reach). The whole account when the root has no id index yet or
    the account needs hydration (ciq.domain.aggregate repairs only whole accounts)."""
    return _untorn(lambda: _read_reach(user_id, reach))


def load_answer(user_id: str) -> StoredAnswer | None:
    """The full read as stored fragments (the same consistent Query and torn-read check as `load`,
    no entity decoded), or None when only `load` can answer: no root item, an account not yet
    hydrated or of an older schema, or a workspace item not in the current answer form."""
    return _untorn(lambda: _read_answer(user_id))


def _read_reach(user_id: str, reach: Reach) -> Snapshot | object | None:
    # The workspaces the reach names by id come in the first call too: one round trip for a create.
    named_directly = [keys.workspace_sk(w) for w in sorted(reach.workspaces)]
    first = _get_items(user_id, [keys.ROOT_SK, keys.INDEX_SK, *named_directly])
    root_item, index_item = first.get(keys.ROOT_SK), first.get(keys.INDEX_SK)
    if root_item is None:
        return None
    root = decode_record(RootRecord, root_item)
    if root.index_version is None or not root.initialized or root.schema_version != SCHEMA_VERSION:
        return _read(user_id)
    if index_item is None or int(index_item["v"]["N"]) != root.index_version:
        # A write between the two reads, or an index lost for good (a restore): the whole account
        # answers both, and the next write stores the index again.
        return _read(user_id)
    index = decode_record(IdIndex, index_item)
    homes = {entity: workspace for workspace, ids in index.homes.items() for entity in ids}
    named = reach.workspaces | {homes[e] for e in reach.entities if e in homes}
    wanted = [w for w in root.workspace_order if w in named]
    missing = [keys.workspace_sk(w) for w in wanted if keys.workspace_sk(w) not in first]
    stored = {**first, **(_get_items(user_id, missing) if missing else {})}
    records, fingerprints, stale = [], {}, []
    for workspace_id in wanted:
        item = stored.get(keys.workspace_sk(workspace_id))
        if item is None or int(item["v"]["N"]) != root.workspace_versions.get(workspace_id):
            return _TORN  # a write landed between the root and its workspace items: read again
        record, fingerprints[workspace_id], fresh = fragments.decode_workspace(item)
        records.append(record)
        if not fresh:
            stale.append(workspace_id)
    account = assemble(user_id, root, records)
    account.outside = outside_of(root, index, set(wanted))
    return Snapshot(
        account=account,
        version=int(root_item["version"]["N"]),
        workspace_versions=dict(root.workspace_versions),
        fingerprints=fingerprints,
        commit_tokens=_commit_tokens(root_item),
        index=index,
        index_version=root.index_version,
        stale=stale,
    )


def _get_items(user_id: str, sort_keys: list[str]) -> dict[str, dict[str, Any]]:
    """The user's items of these sort keys, by sort key, strongly consistent (BatchGetItem: at most
    100 keys a call; what DynamoDB leaves unprocessed is asked again). Not isolated from a
    transaction: the caller checks the versions the items carry."""
    pk = {"S": keys.user_pk(user_id)}
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(sort_keys), BATCH_GET_KEYS):
        chunk = sort_keys[start : start + BATCH_GET_KEYS]
        request: Any = {
            table(): {"Keys": [{"pk": pk, "sk": {"S": sk}} for sk in chunk], "ConsistentRead": True}
        }
        for attempt in range(UNPROCESSED_TRIES):
            answer = call("batch_get_item", RequestItems=request)
            for item in answer.get("Responses", {}).get(table(), []):
                found[item["sk"]["S"]] = item
            request = answer.get("UnprocessedKeys") or None
            if not request:
                break
            time.sleep(0.05 * 2**attempt)  # DynamoDB leaves keys unprocessed when it throttles
        else:
            raise unavailable()
    return found


BATCH_GET_KEYS = 100
UNPROCESSED_TRIES = 5


def _read_answer(user_id: str) -> StoredAnswer | object | None:
    root_item, workspace_items = _by_kind(_data_items(user_id))
    if root_item is None:
        return None
    root = decode_record(RootRecord, root_item)
    if not root.initialized or root.schema_version != SCHEMA_VERSION:
        return None
    workspaces = []
    for workspace_id in root.workspace_order:
        stored = workspace_items.get(workspace_id)
        if stored is None or int(stored["v"]["N"]) != root.workspace_versions.get(workspace_id):
            return _TORN
        if not fragments.is_fresh(stored):
            return None
        workspaces.append(fragments.stored_workspace(workspace_id, stored))
    return StoredAnswer(
        version=int(root_item["version"]["N"]),
        schema_version=root.schema_version,
        profile=root.profile,
        groups=root.groups,
        workspaces=workspaces,
    )


def refresh(snapshot: Snapshot, account: Account) -> None:
    """Rewrites the snapshot's stale workspace items in the current answer form, each with the
    version it had (its data is the same, so the account keeps its version and ETag), in
    transactions conditioned on the root's version being still the one read. `account` is the
    snapshot's account, hydrated without a change to store (so derived). Best effort: when a write
    came in between, or the store is busy, the items stay as they are for a later read."""
    records = workspace_records(account)
    puts: list[tuple[TransactWriteItemTypeDef, int]] = []  # and its size
    for workspace_id in snapshot.stale:
        record = records.get(workspace_id)
        if record is None:
            continue
        body = record.to_json_bytes()
        print_ = _digest(body)
        if print_ != snapshot.fingerprints.get(workspace_id):
            continue  # changed in memory: only a write may store it
        attributes = fragments.encode_workspace(record, print_, f"workspace {workspace_id!r}")
        if "pz" not in attributes:
            continue  # too large for fragments: rewriting would change nothing
        item = {
            "pk": {"S": keys.user_pk(account.user_id)},
            "sk": {"S": keys.workspace_sk(workspace_id)},
            "v": {"N": str(snapshot.workspace_versions[workspace_id])},
            **attributes,
        }
        size = len(attributes["pz"]["B"]) + len(attributes["px"]["S"]) + 200
        puts.append(({"Put": {"TableName": table(), "Item": item}}, size))
    for chunk in _chunks(puts):
        unchanged_root: TransactWriteItemTypeDef = {
            "ConditionCheck": {
                "TableName": table(),
                "Key": {"pk": {"S": keys.user_pk(account.user_id)}, "sk": {"S": keys.ROOT_SK}},
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(snapshot.version)}},
            }
        }
        try:
            transact([unchanged_root, *chunk])
        except (VersionConflict, ConditionFailed, AppError) as error:  # never fails the read itself
            _log.info("stale items left for a later read: %s", type(error).__name__)
            return


def _chunks(puts: list[tuple[TransactWriteItemTypeDef, int]]) -> Iterable[list[TransactWriteItemTypeDef]]:
    """Puts in groups that fit one transaction beside its condition check (items and bytes)."""
    chunk: list[TransactWriteItemTypeDef] = []
    size = 0
    for put, put_bytes in puts:
        full = len(chunk) + 2 > MAX_TRANSACTION_ITEMS or size + put_bytes > MAX_TRANSACTION_BYTES - 4096
        if chunk and full:
            yield chunk
            chunk, size = [], 0
        chunk.append(put)
        size += put_bytes
    if chunk:
        yield chunk


@dataclass
class ChangedSince:
    """The account's root and the workspace items written after a version (a delta read)."""

    root: RootRecord
    version: int
    workspaces: list[WorkspaceRecord]  # in the account's workspace order


def load_changed_since(user_id: str, since: int) -> ChangedSince | None:
    """The root and every workspace item whose version is above `since`, from one Query whose
    filter drops the unchanged workspace items (they are read, so the capacity is a full read's,
    but neither sent nor decoded). None when the user has no root item."""
    return _untorn(lambda: _read_changed(user_id, since))


def _read_changed(user_id: str, since: int) -> ChangedSince | object | None:
    items = query_all(
        TableName=table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        # The root has no `v` (its version is `version`); a key attribute (`sk`) may not be filtered on.
        FilterExpression="attribute_not_exists(v) OR v > :since",
        ExpressionAttributeValues={
            ":pk": {"S": keys.user_pk(user_id)},
            ":prefix": {"S": keys.DATA_PREFIX},
            ":since": {"N": str(since)},
        },
        ConsistentRead=True,
    )
    root_item, workspace_items = _by_kind(items)
    if root_item is None:
        return None
    root = decode_record(RootRecord, root_item)
    records = []
    for workspace_id in root.workspace_order:
        written = root.workspace_versions.get(workspace_id, 0)
        if written <= since:
            continue
        stored = workspace_items.get(workspace_id)
        if stored is None or int(stored["v"]["N"]) != written:
            return _TORN  # a write was caught half-way, as in `_read`
        records.append(fragments.decode_workspace(stored)[0])
    return ChangedSince(root=root, version=int(root_item["version"]["N"]), workspaces=records)


def save(
    snapshot: Snapshot | None,
    account: Account,
    extra_items: Sequence[TransactWriteItemTypeDef] = (),
    *,
    commit_token: str | None = None,
) -> int:
    """Writes `account` over `snapshot` (None: the user has no root item yet) and returns the new
    version. Raises VersionConflict when another write came first, and ConditionFailed(i + 1) when
    the condition of `extra_items[i]` failed (the root is item 0 of the transaction). With a
    `commit_token`, `committed(user_id, commit_token)` later says whether this write landed."""
    version = (snapshot.version if snapshot else 0) + 1
    old_versions = snapshot.workspace_versions if snapshot else {}
    old_fingerprints = snapshot.fingerprints if snapshot else {}
    pk = {"S": keys.user_pk(account.user_id)}
    writes: list[TransactWriteItemTypeDef] = []
    versions: dict[str, int] = {}
    records = workspace_records(account)
    for workspace_id, record in records.items():
        body = record.to_json_bytes()
        print_ = _digest(body)
        if old_fingerprints.get(workspace_id) == print_:
            versions[workspace_id] = old_versions[workspace_id]
            continue
        versions[workspace_id] = version
        writes.append(
            {
                "Put": {
                    "TableName": table(),
                    "Item": {
                        "pk": pk,
                        "sk": {"S": keys.workspace_sk(workspace_id)},
                        "v": {"N": str(version)},
                        **fragments.encode_workspace(record, print_, f"workspace {workspace_id!r}"),
                    },
                }
            }
        )
    if account.outside is not None:  # a partial account: the workspaces it did not load are unchanged
        versions.update({w: old_versions[w] for w in account.outside.workspace_ids})
    for workspace_id in old_versions.keys() - versions.keys():
        writes.append(
            {
                "Delete": {
                    "TableName": table(),
                    "Key": {"pk": pk, "sk": {"S": keys.workspace_sk(workspace_id)}},
                }
            }
        )
    earlier = snapshot.index if snapshot else None
    index = id_index(account, records, earlier)
    changed = index != earlier
    index_writes = _index_writes(pk, index, version) if changed else []
    index_stored = any("Put" in write for write in index_writes)
    index_version = version if index_stored else None if changed else _root_index_version(snapshot)
    items = [_root_put(snapshot, account, versions, index_version, commit_token), *extra_items, *writes]
    if index_writes and not fits_one_transaction([*items, *index_writes]):
        # The change fills a transaction alone (an import of 98 workspaces): the root says there is
        # no index, and the next write (which then reads the whole account) writes it.
        items[0] = _root_put(snapshot, account, versions, None, commit_token)
        index_writes = []
    transact([*items, *index_writes])
    commits.announce(account.user_id, version)
    return version


def _root_put(
    snapshot: Snapshot | None,
    account: Account,
    versions: dict[str, int],
    index_version: int | None,
    commit_token: str | None,
) -> TransactWriteItemTypeDef:
    """The root at the next version, conditioned on the version read (or on there being none)."""
    pk = {"S": keys.user_pk(account.user_id)}
    root = root_record(account, versions, index_version).model_dump_json().encode()
    put: TransactWriteItemTypeDef = {
        "Put": {
            "TableName": table(),
            "Item": {
                "pk": pk,
                "sk": {"S": keys.ROOT_SK},
                "version": {"N": str((snapshot.version if snapshot else 0) + 1)},
                **encode_body(root, "account"),
                **_with_token(commit_token, snapshot.commit_tokens if snapshot else []),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    if snapshot is not None:
        put["Put"]["ConditionExpression"] = "version = :expected"
        put["Put"]["ExpressionAttributeValues"] = {":expected": {"N": str(snapshot.version)}}
    return put


def _root_index_version(snapshot: Snapshot | None) -> int | None:
    return snapshot.index_version if snapshot and snapshot.index is not None else None


def _index_writes(pk: dict[str, str], index: IdIndex, version: int) -> list[TransactWriteItemTypeDef]:
    """The index item's put; its delete when it would not fit an item (about 35,000 ids): the
    account is then only ever written whole, never refused for its index."""
    try:
        body = encode_body(index.model_dump_json().encode(), "the id index")
    except AggregateTooLarge:  # the last index that fitted goes: no read pays for it any more
        _log.warning("the id index is too large to store: writes read the whole account")
        return [{"Delete": {"TableName": table(), "Key": {"pk": pk, "sk": {"S": keys.INDEX_SK}}}}]
    item = {"pk": pk, "sk": {"S": keys.INDEX_SK}, "v": {"N": str(version)}, **body}
    return [{"Put": {"TableName": table(), "Item": item}}]


RECENT_COMMITS = 32  # a lost reply is resolved within seconds: far fewer writes land in between


def _commit_tokens(root_item: dict[str, Any]) -> list[str]:
    return [token["S"] for token in (root_item.get("cts") or {}).get("L", [])]


def _with_token(commit_token: str | None, earlier: list[str]) -> dict[str, Any]:
    if not commit_token:
        return {"cts": {"L": [{"S": token} for token in earlier]}} if earlier else {}
    return {"cts": {"L": [{"S": token} for token in [commit_token, *earlier][:RECENT_COMMITS]]}}


def committed(user_id: str, commit_token: str) -> bool:
    """Whether the write that carried `commit_token` landed: its token is among the root's recent
    ones (a strongly consistent read of them alone). Raises DependencyUnavailable when the store
    cannot say."""
    item = call(
        "get_item",
        TableName=table(),
        Key={"pk": {"S": keys.user_pk(user_id)}, "sk": {"S": keys.ROOT_SK}},
        ConsistentRead=True,
        ProjectionExpression="cts",
    ).get("Item")
    return bool(item) and commit_token in _commit_tokens(item)


def new_user_item(account: Account) -> TransactWriteItemTypeDef:
    """The root item of a just-verified user (profile only, no defaults yet), created only if absent."""
    body = root_record(account, {}).model_dump_json().encode()
    return {
        "Put": {
            "TableName": table(),
            "Item": {
                "pk": {"S": keys.user_pk(account.user_id)},
                "sk": {"S": keys.ROOT_SK},
                "version": {"N": "0"},
                **encode_body(body, "account"),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _digest(body: bytes) -> bytes:
    return fragments.fingerprint(body)
