"""The full `GET /api/user-data` answer spliced from stored answer fragments (ciq.store.fragments),
without decoding an entity: the fragments are put in the answer's order and joined by the JSON
around them, compressed as they are stored.

The body is a zlib stream (RFC 1950, the `deflate` content coding of RFC 9110): a two-byte header,
then each fragment's raw deflate bytes (each ends byte-aligned, with no final block), the JSON glue
between them in stored (uncompressed) deflate blocks, a final empty stored block, and the Adler-32
of the whole text, combined from the fragments' own checksums without reading their text.

A client that does not accept `deflate`, or an answer of at most GZIP_THRESHOLD_BYTES, gets the text
inflated from that same stream (gzipped by the edge as any large answer); the bytes are exactly the
ones `render.data_answer` would write for the loaded data (tests/unit/test_spliced_answer.py)."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from pydantic_core import to_json

from ciq.ports import StoredAnswer
from ciq.web import render
from ciq.web.api import GZIP_THRESHOLD_BYTES, JSON, accepts_encoding, versioned_response

if TYPE_CHECKING:
    from ciq.ports import Fragment, StoredWorkspace
    from ciq.services.user_data import DataAnswer

# Lambda answers at most 6 MB, base64 included: a spliced body above this is sent gzipped instead
# (gzip of the whole text compresses better than fragments compressed one by one).
SPLICED_MAX_BYTES = 4 * 1024 * 1024
_ZLIB_HEADER = b"\x78\x9c"  # deflate, 32 KB window; (0x789c % 31 == 0)
_FINAL_EMPTY_BLOCK = b"\x01\x00\x00\xff\xff"
_STORED_BLOCK_MAX = 0xFFFF
_ADLER_BASE = 65521
_LISTS = (("knowledgeBases", "k"), ("agents", "a"), ("connections", "c"))


def data_response(
    answer: DataAnswer | StoredAnswer, version: int, accept_encoding: str | None
) -> Response[Any]:
    """A full read's 200: spliced and deflate-encoded when the answer is stored fragments, large,
    and the client accepts `deflate`; otherwise the JSON text (the edge gzips a large one)."""
    if not isinstance(answer, StoredAnswer):
        return versioned_response(200, render.data_answer(answer), version)
    stream, raw_length = splice(answer)
    if (
        raw_length > GZIP_THRESHOLD_BYTES
        and len(stream) <= SPLICED_MAX_BYTES
        and accepts_encoding(accept_encoding, "deflate")
    ):
        headers = {
            "ETag": f'"{version}"',
            "Cache-Control": "no-store",
            "Content-Encoding": "deflate",  # Api.handle adds `Vary: Accept-Encoding`
        }
        return _EncodedJson(status_code=200, content_type=JSON, body=stream, headers=headers)
    return versioned_response(200, zlib.decompress(stream).decode(), version)


class _EncodedJson(Response[bytes]):
    """A JSON answer already encoded (compressed bytes): Powertools base64-encodes it for the proxy
    answer instead of serializing it as a value."""

    def is_json(self) -> bool:
        return False


def splice(answer: StoredAnswer) -> tuple[bytes, int]:
    """The answer `{"data": ..., "version"}` as a zlib stream, and the length of its text."""
    out = _Stream()
    out.text(b'{"data":{"schemaVersion":%d,"profile":' % answer.schema_version)
    out.text(answer.profile.model_dump_json().encode())
    out.text(
        b',"groups":[' + b",".join(g.model_dump_json().encode() for g in answer.groups) + b'],"workspaces":['
    )
    for position, workspace in enumerate(answer.workspaces):
        if position:
            out.text(b",")
        out.piece(workspace.data, workspace.fragments[0])
    out.text(b"]")
    for name, kind in _LISTS:
        out.text(b',"' + name.encode() + b'":[')
        for position, (data, fragment) in enumerate(_in_creation_order(answer.workspaces, kind)):
            if position:
                out.text(b",")
            out.piece(data, fragment)
        out.text(b"]")
    out.text(b',"nodePositions":{')
    first = True
    for workspace in answer.workspaces:
        for fragment in workspace.fragments:
            if fragment.kind == "n":
                out.text((b"" if first else b",") + to_json(workspace.workspace_id) + b":")
                out.piece(workspace.data, fragment)
                first = False
    out.text(b'}},"version":%d}' % answer.version)
    return out.finish()


def _in_creation_order(workspaces: list[StoredWorkspace], kind: str) -> list[tuple[bytes, Fragment]]:
    """One list's fragments across workspaces: by creation time, ties in workspace order, then in
    stored order (Account.sort_by_creation, a stable sort of the lists read workspace by workspace)."""
    entries = [
        (fragment.created_at, position, index, workspace.data, fragment)
        for position, workspace in enumerate(workspaces)
        for index, fragment in enumerate(workspace.fragments)
        if fragment.kind == kind
    ]
    entries.sort(key=lambda entry: entry[:3])
    return [(data, fragment) for _, _, _, data, fragment in entries]


class _Stream:
    """A zlib stream made of stored pieces and glue text, with its running Adler-32."""

    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = [_ZLIB_HEADER]
        self.glue = bytearray()
        self.adler = 1  # the Adler-32 of no bytes
        self.length = 0

    def text(self, glue: bytes) -> None:
        self.glue += glue

    def piece(self, data: bytes, fragment: Fragment) -> None:
        self._flush_glue()
        self.parts.append(memoryview(data)[fragment.offset : fragment.offset + fragment.length])
        self.adler = adler32_combine(self.adler, fragment.adler, fragment.raw_length)
        self.length += fragment.raw_length

    def finish(self) -> tuple[bytes, int]:
        self._flush_glue()
        self.parts += [_FINAL_EMPTY_BLOCK, struct.pack(">I", self.adler)]
        return b"".join(self.parts), self.length

    def _flush_glue(self) -> None:
        if not self.glue:
            return
        glue = bytes(self.glue)
        self.glue.clear()
        self.adler = adler32_combine(self.adler, zlib.adler32(glue), len(glue))
        self.length += len(glue)
        for start in range(0, len(glue), _STORED_BLOCK_MAX):
            block = glue[start : start + _STORED_BLOCK_MAX]
            # BFINAL 0, BTYPE 00 (stored): the 3 header bits, padded to the byte, then LEN and NLEN.
            self.parts.append(struct.pack("<BHH", 0, len(block), len(block) ^ 0xFFFF) + block)


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of A + B from those of A and B and B's length (zlib's adler32_combine)."""
    remainder = second_length % _ADLER_BASE
    sum1 = first & 0xFFFF
    sum2 = (remainder * sum1) % _ADLER_BASE
    sum1 += (second & 0xFFFF) + _ADLER_BASE - 1
    sum2 += (first >> 16) + (second >> 16) + _ADLER_BASE - remainder
    sum1 %= _ADLER_BASE
    sum2 %= _ADLER_BASE
    return (sum2 << 16) | sum1
