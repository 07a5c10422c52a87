"""/api/user-data use cases: read, mutate (one or an atomic batch), import a whole document."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import ValidationError

from ciq.contracts.base import BATCH_MAX
from ciq.contracts.imports import ImportRequest
from ciq.contracts.mutations import parse_mutations
from ciq.domain.commands import APPLIERS
from ciq.domain.delta import delta_of
from ciq.domain.derive import derive
from ciq.errors import Unauthorized, validation_failed
from ciq.services import versions
from ciq.services.writes import read_account, write

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.contracts.entities import UserData
    from ciq.domain.account import Account
    from ciq.domain.context import Context
    from ciq.ports import StoredAnswer, UnitOfWork
    from ciq.services.writes import WriteRequest, Written


Render: TypeAlias = "Callable[[DataAnswer | DeltaAnswer], str]"


@dataclass(frozen=True)
class DataAnswer:
    """The data at `version`, with each mutation's result after a POST."""

    data: UserData
    version: int
    results: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class DeltaAnswer:
    """A minimal answer (`Prefer: return=minimal`): what the change did to the data at version - 1
    (every write bumps the version by one; ciq.domain.delta), with each mutation's result."""

    delta: dict[str, Any]
    version: int
    results: list[dict[str, Any]] | None = None


def held_version(uow: UnitOfWork, user_id: str, holds: Callable[[int], bool]) -> int | None:
    return versions.held_version(uow, user_id, holds, first_read_stores=True)


def read(uow: UnitOfWork, user_id: str) -> tuple[DataAnswer | StoredAnswer, int]:
    """The full data: as stored answer fragments when every item holds the current answer form
    (nothing to hydrate or derive), else loaded, hydrated (and stored once when that changed a fact,
    or rewritten in the current form when an item was older)."""
    stored = uow.stored_answer(user_id)
    if stored is not None:
        return stored, stored.version
    account, version = read_account(uow, user_id)
    return DataAnswer(account.to_user_data(), version), version


@dataclass(frozen=True)
class SinceAnswer:
    """A delta read: `data` holds the root fields and only the workspaces written after `since`
    (whole, with their children); `workspace_order` is the full order. `data` None: only a full read
    can answer (docs/api/user-data.md "Delta reads")."""

    data: UserData | None
    workspace_order: list[str]
    since: int
    version: int


def read_since(uow: UnitOfWork, user_id: str, since: int) -> tuple[SinceAnswer, int]:
    changed = uow.changed_since(user_id, since)
    if changed is None:
        raise Unauthorized("this session's account no longer exists")
    if since > changed.version or not changed.exact:
        # From another account's future, or stored data the full read must hydrate (and store) first.
        return SinceAnswer(None, changed.workspace_order, since, changed.version), changed.version
    derive(changed.account)
    answer = SinceAnswer(changed.account.to_user_data(), changed.workspace_order, since, changed.version)
    return answer, changed.version


def mutate(
    uow: UnitOfWork, request: WriteRequest, payload: Any, render: Render, *, minimal: bool
) -> Written[DataAnswer | DeltaAnswer]:
    mutations, batch = parse_mutations(payload, BATCH_MAX)
    if minimal:  # the answer needs only what the change touched: load only that (ciq.domain.reach)
        request = replace(request, reach=APPLIERS.reach(mutations))

    def change(account: Account, ctx: Context) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        before = _before(account, minimal)
        return before, account.apply_batch(ctx, mutations) if batch else [account.apply(ctx, mutations[0])]

    def answer(account: Account, version: int, changed: Any) -> DataAnswer | DeltaAnswer:
        before, results = changed or (None, [])
        return _answer(account, version, results, before)

    return write(uow, request, change, answer, render)


def import_document(
    uow: UnitOfWork, request: WriteRequest, payload: Any, render: Render, *, minimal: bool
) -> Written[DataAnswer | DeltaAnswer]:
    try:
        document = ImportRequest.model_validate(payload).data
    except ValidationError as error:
        raise validation_failed(error) from None

    def change(account: Account, ctx: Context) -> dict[str, Any] | None:
        before = _before(account, minimal)
        account.import_document(ctx, document, pinned=request.if_match is not None)
        return before

    def answer(account: Account, version: int, before: dict[str, Any] | None) -> DataAnswer | DeltaAnswer:
        return _answer(account, version, None, before)

    return write(uow, request, change, answer, render)


def _answer(
    account: Account, version: int, results: list[dict[str, Any]] | None, before: dict[str, Any] | None
) -> DataAnswer | DeltaAnswer:
    data = account.to_user_data()
    if before is None:
        return DataAnswer(data, version, results)
    return DeltaAnswer(delta_of(before, data.model_dump(mode="json"), account.outside), version, results)


def _before(account: Account, minimal: bool) -> dict[str, Any] | None:
    """A copy of the data before the change, taken on each attempt (a retry changes a fresh read)."""
    return account.to_user_data().model_dump(mode="json") if minimal else None
