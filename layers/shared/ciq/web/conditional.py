"""Conditional GETs (RFC 9110 §13.1.2): `If-None-Match` with the ETags this API sends (`"<version>"`).
A client that still holds the current version gets `304 Not Modified` with the ETag and no body,
usually after reading only the version of the account (one GetItem of the root item).

Comparison is weak (`W/"7"` matches `"7"`), a list matches when any member does, and `*` matches any
stored version. A header with a member that is not such an ETag is ignored as a whole (the full
answer is sent), as RFC 9110 lets a server do with a field it cannot parse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import Response

from ciq.web.api import versioned_response
from ciq.web.request import header

if TYPE_CHECKING:
    from collections.abc import Callable


A = TypeVar("A")
_ENTITY_TAG = re.compile(r'(?:W/)?"([0-9]{1,18})"')


@dataclass(frozen=True)
class HeldVersions:
    """The versions a client says it holds."""

    versions: frozenset[int]
    any_version: bool = False

    def holds(self, version: int) -> bool:
        return self.any_version or version in self.versions


def held_versions(value: str | None) -> HeldVersions | None:
    """The parsed `If-None-Match`, or None when absent or not made of this API's ETags."""
    if value is None or not value.strip():
        return None
    if value.strip() == "*":
        return HeldVersions(frozenset(), any_version=True)
    versions = set()
    for member in value.split(","):
        matched = _ENTITY_TAG.fullmatch(member.strip())
        if matched is None:
            return None
        versions.add(int(matched.group(1)))
    return HeldVersions(frozenset(versions))


def not_modified(version: int) -> Response[str]:
    """No body, so no Content-Type either."""
    return Response(status_code=304, body="", headers={"ETag": f'"{version}"', "Cache-Control": "no-store"})


def conditional_read(
    event: dict[str, Any],
    unchanged: Callable[[Callable[[int], bool]], int | None],
    read: Callable[[], tuple[A, int]],
    render: Callable[[A], str],
) -> Response[Any]:
    """304 when `unchanged` (given what the client holds) finds the stored version held without a
    full read; otherwise the full read, which is still a 304 when its version is held."""
    return conditional_response(
        event, unchanged, read, lambda answer, version: versioned_response(200, render(answer), version)
    )


def conditional_response(
    event: dict[str, Any],
    unchanged: Callable[[Callable[[int], bool]], int | None],
    read: Callable[[], tuple[A, int]],
    respond: Callable[[A, int], Response[Any]],
) -> Response[Any]:
    """`conditional_read` for a read that makes its own 200 (`respond`: the answer and its version)."""
    held = held_versions(header(event, "If-None-Match"))
    if held is not None:
        version = unchanged(held.holds)
        if version is not None:
            return not_modified(version)
    answer, version = read()
    if held is not None and held.holds(version):
        return not_modified(version)
    return respond(answer, version)
