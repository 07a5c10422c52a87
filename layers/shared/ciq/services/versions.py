"""The stored version alone, for conditional reads: a client that holds the current version learns
it from one small read of the root item instead of the whole account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq.errors import Unauthorized

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.ports import UnitOfWork


def held_version(
    uow: UnitOfWork, user_id: str, holds: Callable[[int], bool], *, first_read_stores: bool
) -> int | None:
    """The stored version when the client holds it, else None (the caller then reads in full).
    `first_read_stores`: the route's full read stores a new user's defaults (version 0 -> 1), so a
    client cannot hold version 0 of its answer."""
    version = uow.stored_version(user_id)
    if version is None:
        raise Unauthorized("this session's account no longer exists")
    if first_read_stores and version == 0:
        return None
    return version if holds(version) else None
