"""/api/live-agents use cases (docs/api/live-agents.md). The store is the source of truth: every
write lands there first through the shared write flow (If-Match, Idempotency-Key, retries,
invariants, version), and only then is the live-agents service told; a GET lists the service,
reconciles it with the store and answers the store's agents. Whatever the service cannot take now
stays `pending` and is sent again by a later call."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ciq.contracts import live_agents as contract
from ciq.contracts.mutations import AgentDelete
from ciq.domain.context import Context
from ciq.errors import ConcurrentModification, DependencyUnavailable, InternalError, NotFound
from ciq.live_agents import client, sync
from ciq.live_agents.normalize import normalize_records, record_id
from ciq.live_agents.tracking import AgentView
from ciq.services import versions
from ciq.services.writes import WriteRequest, Written, read_account, write

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.contracts.entities import Agent
    from ciq.domain.account import Account
    from ciq.ports import UnitOfWork

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentsList:
    agents: list[dict[str, Any]]
    source: str  # "live": the service answered; "store": the stored agents alone
    degraded: bool


@dataclass(frozen=True)
class AgentAnswer:
    agent: dict[str, Any]
    source: str
    degraded: bool


@dataclass(frozen=True)
class _Stored:
    """The first write's answer and the account it stored, for the sync that follows it."""

    answer: AgentAnswer
    account: Account


def agent_json(agent: Agent) -> dict[str, Any]:
    return agent.model_dump(mode="json")


def agents_list(account: Account, workspace_id: str | None, source: str, degraded: bool) -> AgentsList:
    agents = [agent_json(a) for a in account.agents if workspace_id in (None, a.workspace_id)]
    return AgentsList(agents, source, degraded)


# -- GET ---------------------------------------------------------------------------------------------
def held_version(
    uow: UnitOfWork, user_id: str, query: dict[str, str] | None, holds: Callable[[int], bool]
) -> int | None:
    """The held version from the root item alone, only in store mode and for the whole list: a live
    service must be synced first, and a `workspaceId` filter checked (404), by the full read."""
    if client.configured() or contract.parse_query(query) is not None:
        return None
    return versions.held_version(uow, user_id, holds, first_read_stores=True)


def list_agents(
    uow: UnitOfWork, user_id: str, query: dict[str, str] | None, render: Callable[[AgentsList], str]
) -> tuple[AgentsList, int]:
    workspace_id = contract.parse_query(query)
    account, version = read_account(uow, user_id)  # a new user's defaults are stored here (CONTRACT §10)
    if workspace_id is not None:
        account.workspace(workspace_id)  # 404 when it is not the caller's
    if not client.configured():
        return agents_list(account, workspace_id, "store", True), version
    budget = client.Budget.from_settings()
    try:
        records = client.list_agents(user_id, budget)
    except client.Unavailable as error:
        _log.warning("live-agents service unavailable; answering from the store (%s)", error.reason)
        return agents_list(account, workspace_id, "store", True), version
    accepted, rejected = normalize_records(records, account)
    for rejection in rejected:
        _log.warning(
            "live-agents record dropped",
            extra={"agent_id": rejection.agent_id, "reason": rejection.reason, "detail": rejection.message},
        )
    listed = {i for i in map(record_id, records) if i is not None}
    plan = sync.plan_listing(account, accepted, listed)
    results = sync.execute(user_id, plan, budget)
    degraded = results.unavailable is not None
    if not sync.apply_and_compare(account, Context(user_id), plan, results):
        return agents_list(account, workspace_id, "live", degraded), version

    def change(account: Account, ctx: Context) -> None:
        sync.apply_results(account, ctx, plan, results)

    stored = write(
        uow,
        WriteRequest(user_id),
        change,
        lambda acc, _version, _: agents_list(acc, workspace_id, "live", degraded),
        render,
    )
    if stored.answer is None:  # only a replay has none, and this write carries no Idempotency-Key
        raise InternalError("the live-agents sync was answered as a replay")
    return stored.answer, stored.version


# -- writes ------------------------------------------------------------------------------------------
def create(
    uow: UnitOfWork, request: WriteRequest, payload: Any, render: Callable[[AgentAnswer], str]
) -> Written[AgentAnswer]:
    mutation = contract.parse_create(payload)

    def answer(account: Account, _version: int, agent_id: str) -> _Stored:
        return _Stored(AgentAnswer(agent_json(account.agent(agent_id)), "store", True), account)

    first = write(
        uow,
        replace(request, creates=True),
        lambda account, ctx: str(account.apply(ctx, mutation)["id"]),
        answer,
        lambda stored: render(stored.answer),
    )
    return _sync_write(uow, request, first, "put", render)


def update(
    uow: UnitOfWork, request: WriteRequest, agent_id: str, payload: Any, render: Callable[[AgentAnswer], str]
) -> Written[AgentAnswer]:
    mutation = contract.parse_update(payload, contract.path_agent_id(agent_id))

    def answer(account: Account, _version: int, _result: Any) -> _Stored:
        return _Stored(AgentAnswer(agent_json(account.agent(mutation.agent_id)), "store", True), account)

    first = write(
        uow,
        request,
        lambda account, ctx: account.apply(ctx, mutation),
        answer,
        lambda stored: render(stored.answer),
    )
    return _sync_write(uow, request, first, "put", render)


def delete(
    uow: UnitOfWork, request: WriteRequest, agent_id: str, render: Callable[[AgentAnswer], str]
) -> Written[AgentAnswer]:
    mutation = AgentDelete(type="agent.delete", agent_id=contract.path_agent_id(agent_id))

    def change(account: Account, ctx: Context) -> dict[str, Any]:
        deleted = agent_json(account.agent(mutation.agent_id))
        account.apply(ctx, mutation)
        if client.configured():
            # Told to the service even if it was never synced: the service may hold it anyway.
            account.agent_deletions.append(mutation.agent_id)
        return deleted

    def answer(account: Account, _version: int, deleted: dict[str, Any]) -> _Stored:
        agent = dict(deleted)
        if client.configured() or "syncState" in deleted:  # the service may hold it: a deletion to send
            agent["syncState"] = "pending"
            agent.pop("syncError", None)
        return _Stored(AgentAnswer(agent, "store", True), account)

    first = write(uow, request, change, answer, lambda stored: render(stored.answer))
    return _sync_write(uow, request, first, "delete", render)


def _sync_write(
    uow: UnitOfWork,
    request: WriteRequest,
    first: Written[_Stored],
    kind: str,
    render: Callable[[AgentAnswer], str],
) -> Written[AgentAnswer]:
    """Tells the service about the write just stored (and anything else pending), then records the
    outcome in a second, system write whose answer also becomes the Idempotency-Key's answer."""
    stored = first.answer
    public = None if stored is None else stored.answer
    as_stored = Written(public, first.version, first.created, first.recorded, first.replayed)
    if stored is None or first.replayed or not client.configured():
        return as_stored
    written, account = stored.answer.agent, stored.account
    agent_id = str(written["id"])
    focus = (
        sync.Operation("put", agent_id, AgentView.of(account.agent(agent_id)))
        if kind == "put"
        else sync.Operation("delete", agent_id)
    )
    plan = sync.plan_pending(account, focus)
    results = sync.execute(request.user_id, plan, client.Budget.from_settings())
    answer = results.answer(focus.kind, agent_id)
    if answer is None and not results.answers:
        return as_stored  # nothing reached the service: the stored answer stands
    source, degraded = ("live" if answer else "store"), results.unavailable is not None

    def change(account: Account, ctx: Context) -> None:
        sync.apply_results(account, ctx, plan, results)

    def respond(account: Account, _version: int, _extra: None) -> AgentAnswer:
        if kind == "put":
            current = next((a for a in account.agents if a.id == agent_id), None)
            agent = agent_json(current) if current is not None else written
        else:
            agent = {k: v for k, v in written.items() if k != "syncError"}
            if answer is not None and answer.outcome == "accepted":
                agent["syncState"] = "synced"
            elif answer is not None:
                agent["syncState"], agent["syncError"] = "failed", answer.reason
        return AgentAnswer(agent, source, degraded)

    completes = WriteRequest(request.user_id, creates=first.created, completes=request.idempotency)
    try:
        return write(uow, completes, change, respond, render)
    except (NotFound, DependencyUnavailable, ConcurrentModification):
        return as_stored  # the first write landed: its answer stands, the outcome is sent again later
