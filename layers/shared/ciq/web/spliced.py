"""The full `GET /api/user-data` answer spliced from stored answer fragments (ciq.store.fragments),
without decoding an entity: the fragments are put in the answer's order and joined by the JSON
around them, compressed as they are stored.

The body is one deflate stream (RFC 1951): each fragment's raw deflate bytes (each ends
byte-aligned, with no final block), the JSON glue between them in stored (uncompressed) blocks, and
a final empty stored block. It is wrapped as gzip (RFC 1952) when the client accepts gzip (CONTRACT
§9: a GET over 1 MB is gzip-compressed), else as zlib (RFC 1950, the `deflate` content coding of
RFC 9110) when it accepts deflate. The trailer's checksum of the whole text (CRC-32 for gzip,
Adler-32 for zlib) is combined from the fragments' own checksums without reading their text.

A client that accepts neither, or an answer of at most GZIP_THRESHOLD_BYTES, gets the text inflated
from that same stream; the bytes are exactly the ones `render.data_answer` would write for the
loaded data (tests/unit/test_fragments.py)."""

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
# ID1 ID2, CM = deflate, no flags, no mtime, XFL 0, OS 255 (unknown)
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_FINAL_EMPTY_BLOCK = b"\x01\x00\x00\xff\xff"
_STORED_BLOCK_MAX = 0xFFFF
_ADLER_BASE = 65521
_LISTS = (("knowledgeBases", "k"), ("agents", "a"), ("connections", "c"))


def data_response(
    answer: DataAnswer | StoredAnswer, version: int, accept_encoding: str | None
) -> Response[Any]:
    """A full read's 200: spliced and compressed when the answer is stored fragments, large, and the
    client accepts gzip (or else deflate); otherwise the JSON text (the edge gzips a large one)."""
    if not isinstance(answer, StoredAnswer):
        return versioned_response(200, render.data_answer(answer), version)
    stream = splice(answer)
    coding = next((c for c in ("gzip", "deflate") if accepts_encoding(accept_encoding, c)), None)
    if stream.length > GZIP_THRESHOLD_BYTES and coding and stream.size <= SPLICED_MAX_BYTES:
        headers = {
            "ETag": f'"{version}"',
            "Cache-Control": "no-store",
            "Content-Encoding": coding,  # Api.handle adds `Vary: Accept-Encoding`
        }
        body = stream.gzip() if coding == "gzip" else stream.zlib()
        return _EncodedJson(status_code=200, content_type=JSON, body=body, headers=headers)
    return versioned_response(200, stream.inflated().decode(), version)


class _EncodedJson(Response[bytes]):
    """A JSON answer already encoded (compressed bytes): Powertools base64-encodes it for the proxy
    answer instead of serializing it as a value."""

    def is_json(self) -> bool:
        return False


def splice(answer: StoredAnswer) -> Spliced:
    """The answer `{"data": ..., "version"}` as one deflate stream."""
    out = Spliced()
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
    out.flush()
    return out


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


class Spliced:
    """A deflate stream made of stored pieces and glue text, with what its checksums are made of."""

    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = []
        self.glue = bytearray()
        self.length = 0  # of the text
        # Per part of the text: (length, Adler-32, CRC-32), or the glue itself (checksummed whole).
        self._sums: list[tuple[int, int, int] | bytes] = []

    def text(self, glue: bytes) -> None:
        self.glue += glue

    def piece(self, data: bytes, fragment: Fragment) -> None:
        self.flush()
        self.parts.append(memoryview(data)[fragment.offset : fragment.offset + fragment.length])
        self._sums.append((fragment.raw_length, fragment.adler, fragment.crc))
        self.length += fragment.raw_length

    def flush(self) -> None:
        if not self.glue:
            return
        glue = bytes(self.glue)
        self.glue.clear()
        self._sums.append(glue)
        self.length += len(glue)
        for start in range(0, len(glue), _STORED_BLOCK_MAX):
            block = glue[start : start + _STORED_BLOCK_MAX]
            # BFINAL 0, BTYPE 00 (stored): the 3 header bits, padded to the byte, then LEN and NLEN.
            self.parts.append(struct.pack("<BHH", 0, len(block), len(block) ^ 0xFFFF) + block)

    @property
    def size(self) -> int:
        """The compressed size, within the container's few bytes."""
        return sum(len(part) for part in self.parts) + len(_FINAL_EMPTY_BLOCK)

    def zlib(self) -> bytes:
        adler = 1  # the Adler-32 of no bytes
        for part in self._sums:
            if isinstance(part, bytes):
                adler = zlib.adler32(part, adler)
            else:
                adler = adler32_combine(adler, part[1], part[0])
        return b"".join([_ZLIB_HEADER, *self.parts, _FINAL_EMPTY_BLOCK, struct.pack(">I", adler)])

    def gzip(self) -> bytes:
        crc = 0  # the CRC-32 of no bytes
        for part in self._sums:
            crc = zlib.crc32(part, crc) if isinstance(part, bytes) else crc32_combine(crc, part[2], part[0])
        trailer = struct.pack("<II", crc, self.length & 0xFFFFFFFF)
        return b"".join([_GZIP_HEADER, *self.parts, _FINAL_EMPTY_BLOCK, trailer])

    def inflated(self) -> bytes:
        """The whole text (inflated from the stream)."""
        return zlib.decompressobj(-15).decompress(b"".join([*self.parts, _FINAL_EMPTY_BLOCK]))


def crc32_combine(first: int, second: int, second_length: int) -> int:
    """The CRC-32 of A + B from those of A and B and B's length (zlib's crc32_combine, which Python
    does not expose): CRC-32 is affine over GF(2), so crc(A + B) = crc(A + Z) ^ crc(B) ^ crc(Z)
    with Z = len(B) zero bytes, and zlib's CRC of A + Z continues from crc(A). Costs a CRC of
    2 * len(B) zero bytes (about 0.4 ms per MB here)."""
    zeros = _zeros(second_length)
    return zlib.crc32(zeros, first) ^ zlib.crc32(zeros) ^ second


_ZERO_CHUNK = bytes(1 << 16)


def _zeros(length: int) -> bytes | memoryview:
    if length <= len(_ZERO_CHUNK):
        return memoryview(_ZERO_CHUNK)[:length]
    return bytes(length)


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
