"""/api/user-data use cases: read, mutate (one or an atomic batch), import a whole document."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ciq.contracts.base import BATCH_MAX
from ciq.contracts.imports import ImportRequest
from ciq.contracts.mutations import parse_mutations
from ciq.domain.delta import delta
from ciq.errors import validation_failed
from ciq.services import versions
from ciq.services.writes import (
    IdempotencyRequest,
    Outcome,
    read_account,
    run_write,
)

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


def read(user_id: str) -> tuple[str, int]:
    account, version = read_account(user_id)
    return data_body(account, version), version


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
    answer = WriteAnswer(minimal)

    def change(account: Account, ctx: Context) -> list[dict[str, Any]]:
        answer.applying_to(account)
        return account.apply_batch(ctx, mutations) if batch else [account.apply(ctx, mutations[0])]

    return run_write(
        user_id,
        change,
        lambda account, version, results: answer.body(account, version, results or []),
        if_match=if_match,
        idem=idem,
        session_id=session_id,
    )


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

    def change(account: Account, ctx: Context) -> None:
        answer.applying_to(account)
        account.import_document(ctx, document, pinned=if_match is not None)

    return run_write(
        user_id,
        change,
        lambda account, version, _: answer.body(account, version),
        if_match=if_match,
        idem=idem,
        session_id=session_id,
    )
