"""The account as an aggregate: the one place where the consistency sequence of a change is written
(docs/architecture/write-flow.md).

    load -> hydrate            (`loaded`: defaults for a new user, repairs, backfills)
    watchers see the account   (before the change; live-agents tracking takes its baseline)
    change                     (commands through their appliers, an import, or a system record)
    touched -> sort -> derive -> invariants
    watchers see the result    (live-agents tracking marks agents pending)

`Account.apply`, `Account.apply_batch`, `Account.import_document` and `Account.record` call in here;
nothing else changes an account in a write. Each command records its domain event on the account;
the write flow publishes them once the change is stored. Watchers are registered by the service
layer's wiring (ciq.services.subscribers), so the domain names no feature."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

from ciq.domain.commands import APPLIERS
from ciq.domain.derive import derive
from ciq.domain.events import DataImported
from ciq.domain.hydrate import hydrate
from ciq.domain.importer import imported_account
from ciq.domain.invariants import check_invariants
from ciq.domain.reach import OutOfReach
from ciq.errors import AppError, ImportRefused

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ciq.contracts.imports import ImportDocument
    from ciq.contracts.mutations import Command
    from ciq.domain.account import Account
    from ciq.domain.context import Context
    from ciq.domain.mutations import Result

T = TypeVar("T")
# Sees the account before a user's change; what it returns sees the account after it.
_watchers: list[Callable[[Account], Callable[[Account], None]]] = []


def watch(watcher: Callable[[Account], Callable[[Account], None]]) -> None:
    if watcher not in _watchers:
        _watchers.append(watcher)


def loaded(account: Account, ctx: Context) -> bool:
    """Hydration on load; True when it changed the account (a read stores that once). A partial
    account is never repaired in part: OutOfReach, and the whole account is loaded instead."""
    changed = hydrate(account, ctx)
    if changed and account.outside is not None:
        raise OutOfReach("the stored account needs a repair")
    return changed


def apply(account: Account, ctx: Context, commands: Sequence[Command], *, batch: bool) -> list[Result]:
    """Applies commands in order, all or none; a failing command of a batch points into the batch."""

    def edit() -> list[Result]:
        results = []
        for index, command in enumerate(commands):
            try:
                result = APPLIERS.apply(account, ctx, command)
            except AppError as error:
                raise (error.at(f"/mutations/{index}") if batch else error) from None
            results.append(result)
            if (event := APPLIERS.event_of(command, result)) is not None:
                account.events.append(event)
        return results

    return _change(account, edit, by_user=True)


def import_document(account: Account, ctx: Context, document: ImportDocument, *, pinned: bool) -> None:
    """Replaces the data with `document` (profile and setup facts kept). Without a pinned version,
    only over untouched defaults (CONTRACT §9 "Untouched defaults")."""

    def edit() -> None:
        if not pinned and account.touched:
            raise ImportRefused(
                "the account already has changes; import only over untouched defaults, or send If-Match"
            )
        imported = imported_account(account, document, ctx)
        for field in fields(account):
            if field.name != "events":
                setattr(account, field.name, getattr(imported, field.name))
        account.events.append(DataImported())

    _change(account, edit, by_user=True)


def record(account: Account, edit: Callable[[], T]) -> T:
    """A change the server makes on its own (the live-agents sync's bookkeeping): it sets sync
    states itself, so no watcher runs, and it does not end the untouched state."""
    return _change(account, edit, by_user=False)


def _change(account: Account, edit: Callable[[], T], *, by_user: bool) -> T:
    after = [watcher(account) for watcher in _watchers] if by_user else []
    loaded_workspaces = [w.id for w in account.workspaces]
    outcome = edit()
    if account.outside is not None and [w.id for w in account.workspaces] != loaded_workspaces:
        # The root's workspace order is written from what was loaded: only the whole account may
        # gain, lose or reorder workspaces.
        raise OutOfReach("the change adds, removes or moves workspaces")
    if by_user:
        account.touched = True
    account.sort_by_creation()
    derive(account)
    check_invariants(account)
    for seen in after:
        seen(account)
    return outcome
