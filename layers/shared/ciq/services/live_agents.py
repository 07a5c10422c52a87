"""/api/live-agents use cases (docs/api/live-agents.md). The store is the source of truth: every
write lands there first through the shared write flow (If-Match, Idempotency-Key, retries,
invariants, version), and only then is the live-agents service told; a GET lists the service,
reconciles it with the store and answers the store's agents. Whatever the service cannot take now
stays `pending` and is sent again by a later call."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ciq.contracts import live_agents as contract
from ciq.contracts.mutations import AgentDelete
from ciq.domain.context import Context
from ciq.errors import NotFound
from ciq.live_agents import client, sync
from ciq.live_agents.normalize import normalize_records, record_id
from ciq.live_agents.tracking import AgentView
from ciq.services import versions
from ciq.services.writes import IdempotencyRequest, Outcome, read_account, run_write

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.contracts.entities import Agent
    from ciq.domain.account import Account

_log = logging.getLogger(__name__)


def agent_json(agent: Agent) -> dict[str, Any]:
    return agent.model_dump(mode="json")


def list_body(account: Account, workspace_id: str | None, source: str, degraded: bool) -> str:
    agents = [agent_json(a) for a in account.agents if workspace_id in (None, a.workspace_id)]
    return json.dumps({"agents": agents, "source": source, "degraded": degraded}, separators=(",", ":"))


def agent_body(agent: dict[str, Any], source: str, degraded: bool) -> str:
    return json.dumps({"agent": agent, "source": source, "degraded": degraded}, separators=(",", ":"))


# -- GET ---------------------------------------------------------------------------------------------
def held_version(user_id: str, query: dict[str, str] | None, holds: Callable[[int], bool]) -> int | None:
    """The held version from the root item alone, only in store mode and for the whole list: a live
    service must be synced first, and a `workspaceId` filter checked (404), by the full read."""
    if client.configured() or contract.parse_query(query) is not None:
        return None
    return versions.held_version(user_id, holds, first_read_stores=True)


def list_agents(user_id: str, query: dict[str, str] | None) -> tuple[str, int]:
    workspace_id = contract.parse_query(query)
    account, version = read_account(user_id)  # a new user's defaults are stored here (CONTRACT §10)
    if workspace_id is not None:
        account.workspace(workspace_id)  # 404 when it is not the caller's
    if not client.configured():
        return list_body(account, workspace_id, "store", True), version
    budget = client.Budget.from_settings()
    try:
        records = client.list_agents(user_id, budget)
    except client.Unavailable as error:
        _log.warning("live-agents service unavailable; answering from the store (%s)", error.reason)
        return list_body(account, workspace_id, "store", True), version
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
        return list_body(account, workspace_id, "live", degraded), version

    def change(account: Account, ctx: Context) -> None:
        account.record(lambda: sync.apply_results(account, ctx, plan, results))

    outcome = run_write(user_id, change, lambda acc, _v, _e: list_body(acc, workspace_id, "live", degraded))
    return outcome.body, outcome.version


# -- writes ------------------------------------------------------------------------------------------
class _Written:
    """What the store write left behind, for the sync that follows it."""

    account: Account
    agent: dict[str, Any]


def create(user_id: str, payload: Any, *, if_match: int | None, idem: IdempotencyRequest | None) -> Outcome:
    mutation = contract.parse_create(payload)
    written = _Written()

    def change(account: Account, ctx: Context) -> str:
        return str(account.apply(ctx, mutation)["id"])

    def respond(account: Account, _version: int, agent_id: str) -> str:
        written.account, written.agent = account, agent_json(account.agent(agent_id))
        return agent_body(written.agent, "store", True)

    first = run_write(user_id, change, respond, if_match=if_match, idem=idem, status=201)
    return first if first.replayed else _sync_write(user_id, first, written, "put", idem=idem, status=201)


def update(
    user_id: str, agent_id: str, payload: Any, *, if_match: int | None, idem: IdempotencyRequest | None
) -> Outcome:
    mutation = contract.parse_update(payload, contract.path_agent_id(agent_id))
    written = _Written()

    def change(account: Account, ctx: Context) -> None:
        account.apply(ctx, mutation)

    def respond(account: Account, _version: int, _extra: None) -> str:
        written.account, written.agent = account, agent_json(account.agent(mutation.agent_id))
        return agent_body(written.agent, "store", True)

    first = run_write(user_id, change, respond, if_match=if_match, idem=idem)
    return first if first.replayed else _sync_write(user_id, first, written, "put", idem=idem, status=200)


def delete(user_id: str, agent_id: str, *, if_match: int | None, idem: IdempotencyRequest | None) -> Outcome:
    mutation = AgentDelete(type="agent.delete", agent_id=contract.path_agent_id(agent_id))
    written = _Written()

    def change(account: Account, ctx: Context) -> dict[str, Any]:
        deleted = agent_json(account.agent(mutation.agent_id))
        account.apply(ctx, mutation)
        if client.configured():
            # Told to the service even if it was never synced: the service may hold it anyway.
            account.agent_deletions.append(mutation.agent_id)
        return deleted

    def respond(account: Account, _version: int, deleted: dict[str, Any]) -> str:
        written.account = account
        written.agent = dict(deleted)
        if client.configured() or "syncState" in deleted:  # the service may hold it: a deletion to send
            written.agent["syncState"] = "pending"
            written.agent.pop("syncError", None)
        return agent_body(written.agent, "store", True)

    first = run_write(user_id, change, respond, if_match=if_match, idem=idem)
    return first if first.replayed else _sync_write(user_id, first, written, "delete", idem=idem, status=200)


def _sync_write(
    user_id: str,
    first: Outcome,
    written: _Written,
    kind: str,
    *,
    idem: IdempotencyRequest | None,
    status: int,
) -> Outcome:
    """Tells the service about the write just stored (and anything else pending), then records the
    outcome in a second, system write whose answer also becomes the Idempotency-Key's answer."""
    if not client.configured():
        return first
    agent_id = str(written.agent["id"])
    account = written.account
    focus = (
        sync.Operation("put", agent_id, AgentView.of(account.agent(agent_id)))
        if kind == "put"
        else sync.Operation("delete", agent_id)
    )
    plan = sync.plan_pending(account, focus)
    results = sync.execute(user_id, plan, client.Budget.from_settings())
    answer = results.answer(focus.kind, agent_id)
    if answer is None and not results.answers:
        return first  # nothing reached the service: the stored answer (pending, degraded) stands
    source, degraded = ("live" if answer else "store"), results.unavailable is not None

    def change(account: Account, ctx: Context) -> None:
        account.record(lambda: sync.apply_results(account, ctx, plan, results))

    def respond(account: Account, _version: int, _extra: None) -> str:
        if kind == "put":
            current = next((a for a in account.agents if a.id == agent_id), None)
            agent = agent_json(current) if current is not None else written.agent
        else:
            agent = {k: v for k, v in written.agent.items() if k != "syncError"}
            if answer is not None and answer.outcome == "accepted":
                agent["syncState"] = "synced"
            elif answer is not None:
                agent["syncState"], agent["syncError"] = "failed", answer.reason
        return agent_body(agent, source, degraded)

    try:
        return run_write(user_id, change, respond, status=status, replaces=idem)
    except NotFound:
        return first
