"""A workspace item's body as answer fragments (docs/architecture/persistence-model.md "Answer
fragments").

Each entity of the workspace (the workspace object, each KB, agent and connection, and its node
positions) is stored in its answer form: exactly the JSON it has in `GET /api/user-data` (camelCase,
derived fields included), each text compressed on its own as raw deflate ended by a sync flush, so
that the pieces of any workspaces can be concatenated, with stored blocks of JSON glue between them,
into one deflate stream: the answer, compressed, without decoding a single entity (ciq.web.spliced).
An index says what each piece is (its list, its creation time for the answer's order, its compressed
and raw lengths, the Adler-32 and the CRC-32 of its text: the checksums of a zlib and of a gzip
answer are combined from them).

Loads that need the domain's values still get them: the pieces are inflated, joined into one JSON
text and validated once per workspace. Items written before this form (`j`/`z`, the stored form
without derived fields) are read as before and rewritten in this form on their next write, or by
`refresh` after a read."""

from __future__ import annotations

import hashlib
import json
import zlib
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from ciq.contracts.entities import NodePosition
from ciq.ports import Fragment, StoredWorkspace
from ciq.store.codec import (
    MAX_BODY_BYTES,
    CorruptItem,
    decode_body,
    decode_record,
    encode_body,
)
from ciq.store.records import WorkspaceRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# Which answer form (entity JSON and derive rules) the stored fragments hold. Bump it whenever
# ciq/domain/derive.py, ciq/domain/kb_validation.py or ciq/contracts/entities.py change what an
# entity looks like in the answer (tests/unit/test_fragments.py pins their source): items of
# another form are never spliced; the next read answers from the data and rewrites them.
ANSWER_FORM = 2  # 2: the index also keeps each text's CRC-32 (gzip answers spliced too)

# Kinds of piece, in the order they are stored in an item.
WORKSPACE, KNOWLEDGE_BASE, AGENT, CONNECTION, NODE_POSITIONS = "w", "k", "a", "c", "n"
_COMPRESS_LEVEL = 6


@cache
def _positions() -> TypeAdapter[dict[str, NodePosition]]:
    """Built on first use, not at import: every function imports the store (cold starts)."""
    return TypeAdapter(dict[str, NodePosition])


def fingerprint(stored_form: bytes) -> bytes:
    """What a write compares to know a workspace changed: a digest of its stored form (without
    derived fields), the same whatever format the item is in."""
    return hashlib.blake2b(stored_form, digest_size=16).digest()


def deflate_piece(text: bytes) -> bytes:
    """Raw deflate of `text`, ended byte-aligned by a sync flush (no final block), so that the
    result can be followed by any other deflate blocks."""
    packer = zlib.compressobj(_COMPRESS_LEVEL, zlib.DEFLATED, -15)
    return packer.compress(text) + packer.flush(zlib.Z_SYNC_FLUSH)


def answer_texts(record: WorkspaceRecord) -> list[tuple[str, str, bytes]]:
    """(kind, createdAt, JSON text) of each entity of a derived workspace, in stored order."""
    texts = [(WORKSPACE, record.workspace.created_at, record.workspace.model_dump_json().encode())]
    texts += [(KNOWLEDGE_BASE, kb.created_at, kb.model_dump_json().encode()) for kb in record.knowledge_bases]
    texts += [(AGENT, a.created_at, a.model_dump_json().encode()) for a in record.agents]
    texts += [(CONNECTION, c.created_at, c.model_dump_json().encode()) for c in record.connections]
    if record.node_positions:
        texts.append((NODE_POSITIONS, "", _positions().dump_json(record.node_positions)))
    return texts


def encode_workspace(record: WorkspaceRecord, print_: bytes, what: str) -> dict[str, AttributeValueTypeDef]:
    """The body attributes of a workspace item: `af` (the answer form), `fp` (the fingerprint of the
    stored form), `pz` (the pieces), `pc` (their CRC-32: a damaged item is found when it is read,
    though the pieces are not inflated to answer) and `px` (their index, JSON). The record's
    derived fields must be current (every write derives before it stores). A workspace whose pieces
    would not fit in an item is stored in the older single-body form, which compresses better
    (never spliced, but never refused for the form alone); one that does not fit either is 413
    aggregate_too_large."""
    pieces, index = [], []
    for kind, created_at, text in answer_texts(record):
        piece = deflate_piece(text)
        pieces.append(piece)
        index.append([kind, created_at, len(piece), len(text), zlib.adler32(text), zlib.crc32(text)])
    data = b"".join(pieces)
    index_text = json.dumps(index, separators=(",", ":"))
    if len(data) + len(index_text) > MAX_BODY_BYTES:
        return encode_body(record.to_json_bytes(), what)
    return {
        "af": {"N": str(ANSWER_FORM)},
        "fp": {"B": print_},
        "pz": {"B": data},
        "pc": {"N": str(zlib.crc32(data))},
        "px": {"S": index_text},
    }


def is_fresh(item: dict[str, Any]) -> bool:
    """Whether the item holds fragments of the current answer form (else it cannot be spliced)."""
    return "pz" in item and int(item.get("af", {}).get("N", "0")) == ANSWER_FORM


def stored_workspace(workspace_id: str, item: dict[str, Any]) -> StoredWorkspace:
    """A fresh item's pieces and their index, undecoded."""
    try:
        rows = json.loads(item["px"]["S"])
        fragments, offset = [], 0
        for kind, created_at, length, raw_length, adler, crc in rows:
            fragments.append(Fragment(kind, created_at, offset, length, raw_length, adler, crc))
            offset += length
    except (KeyError, ValueError, TypeError) as error:
        raise CorruptItem(item, f"fragment index: {type(error).__name__}") from None
    data = bytes(item["pz"]["B"])
    if str(zlib.crc32(data)) != item.get("pc", {}).get("N"):
        raise CorruptItem(item, "fragments: CRC-32 checksum mismatch")
    if offset != len(data) or not fragments or fragments[0].kind != WORKSPACE:
        raise CorruptItem(item, "fragment index does not match its pieces")
    return StoredWorkspace(workspace_id, data, fragments)


def decode_workspace(item: dict[str, Any]) -> tuple[WorkspaceRecord, bytes, bool]:
    """The item as the domain's record, its fingerprint, and whether it is fresh (in the current
    answer form). Either format; for fragments, one inflate and one validation of the whole item."""
    if "pz" not in item:
        body = decode_body(item)
        return decode_record(WorkspaceRecord, item, body), fingerprint(body), False
    stored = stored_workspace("", item)
    try:
        text = zlib.decompressobj(-15).decompress(stored.data)
    except zlib.error as error:
        raise CorruptItem(item, f"zlib: {error}") from None
    record = decode_record(WorkspaceRecord, item, _record_json(stored.fragments, text, item))
    return record, bytes(item["fp"]["B"]), is_fresh(item)


def _record_json(fragments: list[Fragment], text: bytes, item: dict[str, Any]) -> bytes:
    """The inflated pieces joined into the JSON of a WorkspaceRecord."""
    parts: dict[str, list[memoryview]] = {
        WORKSPACE: [],
        KNOWLEDGE_BASE: [],
        AGENT: [],
        CONNECTION: [],
        NODE_POSITIONS: [],
    }
    start, view = 0, memoryview(text)  # slices of a view: no copy before the one join
    for fragment in fragments:
        end = start + fragment.raw_length
        if fragment.kind not in parts or end > len(text):
            raise CorruptItem(item, "fragment index does not match its pieces")
        parts[fragment.kind].append(view[start:end])
        start = end
    if start != len(text) or len(parts[WORKSPACE]) != 1:
        raise CorruptItem(item, "fragment index does not match its pieces")
    positions = parts[NODE_POSITIONS][0] if parts[NODE_POSITIONS] else memoryview(b"{}")
    return b"".join(
        (
            b'{"workspace":',
            parts[WORKSPACE][0],
            b',"knowledge_bases":[',
            b",".join(parts[KNOWLEDGE_BASE]),
            b'],"agents":[',
            b",".join(parts[AGENT]),
            b'],"connections":[',
            b",".join(parts[CONNECTION]),
            b'],"node_positions":',
            positions,
            b"}",
        )
    )
