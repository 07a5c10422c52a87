"""/api/user-data use cases: read, mutate (one or an atomic batch), import a whole document."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ciq import audit
from ciq.contracts.base import BATCH_MAX
from ciq.contracts.entities import SCHEMA_VERSION
from ciq.contracts.imports import ImportRequest
from ciq.contracts.mutations import parse_mutations
from ciq.domain.delta import CHILD_LISTS, ROOT_FIELDS, delta
from ciq.domain.derive import derive
from ciq.domain.importer import imported_account
from ciq.domain.mutations import apply_mutation
from ciq.errors import AppError, ImportRefused, Unauthorized, invalid, validation_failed
from ciq.services import versions
from ciq.services.writes import (
    IdempotencyRequest,
    Outcome,
    read_account,
    run_write,
)
from ciq.store import user_store
from ciq.store.records import assemble

_VERSION = re.compile(r"[0-9]{1,18}")

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.domain.account import Account
    from ciq.domain.context import Context


def data_body(account: Account, version: int, results: list[dict[str, Any]] | None = None) -> str:
    data = account.to_user_data().model_dump_json()
    tail = "" if results is None else ',"results":' + json.dumps(results, separators=(",", ":"))
    return f'{{"data":{data},"version":{version}{tail}}}'


class WriteAnswer:
    """A write's answer: the whole data, or with `minimal` (`Prefer: return=minimal`) the delta from
    the state the change was applied to (docs/api/user-data.md "Minimal answers"). Every write bumps
    the version by one, so that state is version - 1."""

    def __init__(self, minimal: bool) -> None:
        self.minimal = minimal
        self._before: dict[str, Any] | None = None

    def applying_to(self, account: Account) -> None:
        """Called by the change, on each attempt, before it changes anything."""
        if self.minimal:
            self._before = _wire(account)

    def body(self, account: Account, version: int, results: list[dict[str, Any]] | None = None) -> str:
        if self._before is None:  # a full answer, or a replay whose change did not run here
            return data_body(account, version, results)
        answer = {**delta(self._before, _wire(account)), "baseVersion": version - 1, "version": version}
        if results is not None:
            answer["results"] = results
        return json.dumps(answer, separators=(",", ":"))


def _wire(account: Account) -> dict[str, Any]:
    wire: dict[str, Any] = json.loads(account.to_user_data().model_dump_json())
    return wire


def held_version(user_id: str, holds: Callable[[int], bool]) -> int | None:
    return versions.held_version(user_id, holds, first_read_stores=True)


def parse_since(query: dict[str, str] | None) -> int | None:
    """The `since` of a delta read: a version number (ASCII digits, as an ETag carries it)."""
    text = (query or {}).get("since")
    if text is None:
        return None
    if not _VERSION.fullmatch(text):
        message = "since must be a version number this API returned, such as 7"
        raise invalid("/since", message, "invalid_version")
    return int(text)


def read(user_id: str) -> tuple[str, int]:
    account, version = read_account(user_id)
    return data_body(account, version), version


def read_since(user_id: str, since: int) -> tuple[str, int]:
    """A delta read (docs/api/user-data.md "Delta reads"): the root fields and each workspace written
    after `since`, whole with its children; `{"full": true}` when only a full read can answer."""
    changed = user_store.load_changed_since(user_id, since)
    if changed is None:
        raise Unauthorized("this session's account no longer exists")
    root, version = changed.root, changed.version
    if since > version or not root.initialized or root.schema_version != SCHEMA_VERSION:
        # From another account's future, or stored data the full read must hydrate (and store) first.
        return json.dumps({"full": True, "version": version}, separators=(",", ":")), version
    account = assemble(user_id, root, changed.workspaces)
    derive(account)
    wire = json.loads(account.to_user_data().model_dump_json())
    answer = {
        **{field: wire[field] for field in ROOT_FIELDS},
        "workspaceOrder": root.workspace_order,
        "workspaces": wire["workspaces"],
        **{name: wire[name] for name in CHILD_LISTS},
        "nodePositions": wire["nodePositions"],
        "baseVersion": since,
        "version": version,
    }
    return json.dumps(answer, separators=(",", ":")), version


def mutate(
    user_id: str,
    payload: Any,
    *,
    if_match: int | None,
    idem: IdempotencyRequest | None,
    session_id: str | None = None,
    minimal: bool = False,
) -> Outcome:
    mutations, batch = parse_mutations(payload, BATCH_MAX)
    entity_ids: list[str | None] = []  # of the attempt that committed (a retry runs `change` again)
    answer = WriteAnswer(minimal)

    def change(account: Account, ctx: Context) -> tuple[Account, list[dict[str, Any]]]:
        answer.applying_to(account)
        results = []
        for index, mutation in enumerate(mutations):
            try:
                results.append(apply_mutation(account, ctx, mutation))
            except AppError as error:
                raise (error.at(f"/mutations/{index}") if batch else error) from None
        entity_ids[:] = [result.get("id") for result in results]
        return account, results

    outcome = run_write(
        user_id,
        change,
        lambda account, version, results: answer.body(account, version, results or []),
        if_match=if_match,
        idem=idem,
    )
    if not outcome.replayed:
        audit.mutations_committed(user_id, session_id, mutations, entity_ids)
    return outcome


def import_document(
    user_id: str,
    payload: Any,
    *,
    if_match: int | None,
    idem: IdempotencyRequest | None,
    session_id: str | None = None,
    minimal: bool = False,
) -> Outcome:
    try:
        document = ImportRequest.model_validate(payload).data
    except ValidationError as error:
        raise validation_failed(error) from None
    answer = WriteAnswer(minimal)

    def change(account: Account, ctx: Context) -> tuple[Account, None]:
        answer.applying_to(account)
        if if_match is None and account.touched:
            raise ImportRefused(
                "the account already has changes; import only over untouched defaults, or send If-Match"
            )
        return imported_account(account, document, ctx), None

    outcome = run_write(
        user_id,
        change,
        lambda account, version, _: answer.body(account, version),
        if_match=if_match,
        idem=idem,
    )
    if not outcome.replayed:
        audit.data_imported(user_id, session_id)
    return outcome
