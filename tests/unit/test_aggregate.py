"""The account aggregate (ciq.domain.aggregate): the one consistency sequence, the domain events a
change records, and the watchers that see user changes (not the server's own bookkeeping)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

from ciq.contracts import setup_status as s
from ciq.contracts.base import BATCH_MAX
from ciq.contracts.entities import Profile
from ciq.contracts.imports import ImportRequest
from ciq.contracts.mutations import parse_mutations
from ciq.domain import aggregate, events
from ciq.domain.account import Account
from ciq.domain.context import Context
from ciq.errors import ImportRefused, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ciq.contracts.mutations import Command

NOW = "2026-01-01T00:00:00.000Z"


@pytest.fixture
def account_and_ctx() -> tuple[Account, Context]:
    counter = itertools.count(1)
    ctx = Context("u-1", "sess-a", now=NOW, new_id=lambda prefix: f"{prefix}-gen{next(counter)}")
    account = Account(user_id="u-1", profile=Profile(user_id="u-1", email="a@example.com", created_at=NOW))
    aggregate.loaded(account, ctx)
    return account, ctx


@pytest.fixture
def seen() -> Iterator[list[str]]:
    """A watcher that logs what it sees, removed after the test."""
    log: list[str] = []

    def watcher(before: Account) -> Callable[[Account], None]:
        log.append(f"before:{len(before.workspaces)}")
        return lambda after: log.append(f"after:{len(after.workspaces)}:{after.touched}")

    aggregate.watch(watcher)
    yield log
    aggregate._watchers.remove(watcher)


def commands(*payloads: dict[str, object]) -> list[Command]:
    parsed, _ = parse_mutations({"mutations": list(payloads)}, BATCH_MAX)
    return list(parsed)


def test_a_batch_records_one_event_per_command_that_has_one(account_and_ctx: tuple[Account, Context]) -> None:
    # Given an account with its defaults
    account, ctx = account_and_ctx
    # When a batch creates a workspace, renames a group and adds a connection
    account.apply_batch(
        ctx,
        commands(
            {"type": "workspace.create", "id": "ws-new", "name": "New"},
            {"type": "group.create", "name": "G"},
            {"type": "connection.create", "workspaceId": "ws-new", "family": "web-chat"},
        ),
    )
    # Then the workspace and the connection are events (a group has none), with their ids
    assert [type(e) for e in account.events] == [events.WorkspaceCreated, events.ConnectionAdded]
    assert account.events[0].entity_id == "ws-new"
    assert account.events[1].entity_id == account.connections_of("ws-new")[0].id


def test_a_failing_command_of_a_batch_points_into_the_batch(account_and_ctx: tuple[Account, Context]) -> None:
    # Given an account; When the second command of a batch names an unknown workspace
    account, ctx = account_and_ctx
    batch = commands({"type": "group.create", "name": "G"}, {"type": "workspace.delete", "workspaceId": "x"})
    with pytest.raises(NotFound) as raised:
        account.apply_batch(ctx, batch)
    # Then the error points at that command
    assert raised.value.details[0].path == "/mutations/1/workspaceId"


def test_a_setup_command_uses_the_calling_session(account_and_ctx: tuple[Account, Context]) -> None:
    # Given an account; When the session sess-a dismisses Get Started
    account, ctx = account_and_ctx
    account.apply(ctx, s.parse_setup_mutation({"type": "dismissForSession"}))
    # Then the dismissal is that session's
    assert account.setup.dismissed_sessions == ["sess-a"]


def test_watchers_see_user_changes_but_not_the_servers_records(
    account_and_ctx: tuple[Account, Context], seen: list[str]
) -> None:
    account, ctx = account_and_ctx
    # When a user change runs; Then the watcher saw the account before and after (touched)
    account.apply(ctx, commands({"type": "workspace.create", "name": "W"})[0])
    assert seen == ["before:1", "after:2:True"]
    # When the server records something on its own; Then no watcher runs
    account.record(lambda: None)
    assert seen == ["before:1", "after:2:True"]


def test_an_import_over_changes_is_refused_unless_pinned(account_and_ctx: tuple[Account, Context]) -> None:
    # Given a touched account and a document
    account, ctx = account_and_ctx
    account.apply(ctx, commands({"type": "group.create", "name": "G"})[0])
    document = ImportRequest.model_validate(
        {"data": {"schemaVersion": 2, "workspaces": [{"id": "ws-9", "name": "Nine"}]}}
    ).data
    # When it is imported without a pinned version; Then it is refused
    with pytest.raises(ImportRefused):
        account.import_document(ctx, document, pinned=False)
    # When pinned; Then the data is replaced and the import recorded as an event
    account.import_document(ctx, document, pinned=True)
    assert [w.id for w in account.workspaces] == ["ws-9"]
    assert [type(e) for e in account.events] == [events.DataImported]
