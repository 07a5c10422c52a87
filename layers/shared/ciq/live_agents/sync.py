"""One sync between the store (the source of truth) and the live-agents service.

1. `plan_listing` (after `GET .../agents`) or `plan_pending` (after a write, without listing) decides
   what to send: PUT every store agent the service lacks or holds differently (the store wins),
   except one the service refused until it changes again; DELETE every remembered deletion the
   service may still hold; import every valid record the store lacks.
2. `execute` sends it within the request's budget, stopping at the first unavailable answer (what is
   left stays pending for a later call).
3. `apply_results` records the outcome on the account, each step through `Account.record` (so the
   aggregate alone runs sort -> derive -> invariants): sync states only for agents still as they
   were sent, then each import through the `agent.create` rule, then its sync state, judged on the
   status the previous step derived."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from ciq.contracts.entities import SYNC_ERROR_MAX
from ciq.contracts.mutations import AgentCreate
from ciq.domain.mutations import agent_create
from ciq.errors import AppError
from ciq.live_agents.client import Answer, Budget, Unavailable, delete_agent, put_agent
from ciq.live_agents.tracking import AgentView

if TYPE_CHECKING:
    from ciq.domain.account import Account
    from ciq.domain.context import Context
    from ciq.live_agents.normalize import UpstreamAgent

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Operation:
    kind: Literal["put", "delete"]
    agent_id: str
    view: AgentView | None = None  # what a put sends


@dataclass
class Plan:
    operations: list[Operation] = field(default_factory=list)
    settled: list[AgentView] = field(default_factory=list)  # already equal in the service
    imports: list[UpstreamAgent] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # remembered deletions the service no longer lists


@dataclass
class Results:
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)  # (kind, agent id) -> answer
    unavailable: str | None = None  # why the sync stopped early

    def answer(self, kind: str, agent_id: str) -> Answer | None:
        return self.answers.get((kind, agent_id))


def plan_listing(account: Account, upstream: list[UpstreamAgent], listed_ids: set[str]) -> Plan:
    """`upstream`: the accepted records; `listed_ids`: every id the service listed (a rejected record
    included: a deletion must still reach it)."""
    plan = Plan()
    by_id = {u.id: u for u in upstream}
    deletions = set(account.agent_deletions)
    for agent in account.agents:
        view, theirs = AgentView.of(agent), by_id.get(agent.id)
        if theirs is not None and theirs.view() == view:
            plan.settled.append(view)
        elif agent.sync_state != "failed":
            plan.operations.append(Operation("put", agent.id, view))
    store_ids = {a.id for a in account.agents}
    plan.imports = [u for u in upstream if u.id not in store_ids and u.id not in deletions]
    for agent_id in account.agent_deletions:
        if agent_id in listed_ids:
            plan.operations.append(Operation("delete", agent_id))
        else:
            plan.gone.append(agent_id)
    return plan


def plan_pending(account: Account, focus: Operation) -> Plan:
    """After a write: the written agent (or deletion) first, then everything else still pending."""
    plan = Plan(operations=[focus])
    for agent in account.agents:
        if agent.sync_state == "pending" and agent.id != focus.agent_id:
            plan.operations.append(Operation("put", agent.id, AgentView.of(agent)))
    plan.operations += [
        Operation("delete", i)
        for i in account.agent_deletions
        if (focus.kind, focus.agent_id) != ("delete", i)
    ]
    return plan


def execute(user_id: str, plan: Plan, budget: Budget) -> Results:
    results = Results()
    for op in plan.operations:
        try:
            if op.kind == "put":
                assert op.view is not None
                answer = put_agent(user_id, op.view, budget)
            else:
                answer = delete_agent(user_id, op.agent_id, budget)
        except Unavailable as error:
            results.unavailable = error.reason
            _log.warning("live-agents sync stopped: %s", error.reason, extra={"agent_id": op.agent_id})
            break
        if answer.outcome == "rejected":
            _log.warning(
                "live-agents service refused a %s",
                op.kind,
                extra={"agent_id": op.agent_id, "reason": answer.reason},
            )
        results.answers[(op.kind, op.agent_id)] = answer
    return results


def apply_results(account: Account, ctx: Context, plan: Plan, results: Results) -> None:
    """Records the sync's outcome on `account` (a hydrated, derived account, inside a write or as
    read), each step a system change of the aggregate."""
    account.record(lambda: _record_answers(account, plan, results))
    for record in plan.imports:
        _import(account, ctx, record)


def _record_answers(account: Account, plan: Plan, results: Results) -> None:
    agents = {a.id: a for a in account.agents}
    for op in plan.operations:
        answer = results.answer(op.kind, op.agent_id)
        agent = agents.get(op.agent_id)
        if answer is None or op.kind != "put" or agent is None or AgentView.of(agent) != op.view:
            continue  # not sent, or changed since: stays pending for the next call
        if answer.outcome == "accepted":
            agent.sync_state, agent.sync_error = "synced", None
        else:
            agent.sync_state, agent.sync_error = "failed", answer.reason[:SYNC_ERROR_MAX]
    for view in plan.settled:
        agent = agents.get(view.id)
        if agent is not None and AgentView.of(agent) == view:
            agent.sync_state, agent.sync_error = "synced", None
    done = set(plan.gone) | {
        op.agent_id
        for op in plan.operations
        if op.kind == "delete" and (a := results.answer("delete", op.agent_id)) and a.outcome == "accepted"
    }
    account.agent_deletions = [i for i in account.agent_deletions if i not in done]


def apply_and_compare(account: Account, ctx: Context, plan: Plan, results: Results) -> bool:
    """Applies the results to the account as read and says whether that changed anything worth
    storing (no write, no version bump if not). When it did, the caller stores them through
    `run_write`, which applies them again to a fresh read."""
    before = _fingerprint(account)
    apply_results(account, ctx, plan, results)
    return _fingerprint(account) != before


def _fingerprint(account: Account) -> tuple[object, ...]:
    return (
        tuple((a.id, a.sync_state, a.sync_error) for a in account.agents),
        tuple(account.agent_deletions),
    )


def _import(account: Account, ctx: Context, record: UpstreamAgent) -> None:
    """An upstream-only record, created through the `agent.create` rule (ids, KB of its workspace);
    one that no longer fits the account is dropped and logged. Two steps: the creation (after which
    the aggregate derives the agent's status), then its sync state, which compares that status."""
    agent_id = account.record(lambda: _create_imported(account, ctx, record))
    if agent_id is None:
        return
    agent = account.agent(agent_id)

    def judge() -> None:
        # Equal to the service's record: synced; otherwise (status derived differently) the store's
        # version is pushed by the next sync.
        agent.sync_state = "synced" if AgentView.of(agent) == record.view() else "pending"

    account.record(judge)


def _create_imported(account: Account, ctx: Context, record: UpstreamAgent) -> str | None:
    """The imported agent's id, or None when it is already there, deleted, or does not fit."""
    if record.id in {a.id for a in account.agents} or record.id in account.agent_deletions:
        return None
    try:
        mutation = AgentCreate(
            type="agent.create",
            id=record.id,
            workspace_id=record.workspace_id,
            knowledge_base_id=record.knowledge_base_id,
            name=record.name,
        )
        agent = account.agent(agent_create(account, ctx, mutation)["id"])
    except (AppError, ValidationError) as error:
        _log.warning(
            "live-agents record not imported",
            extra={"agent_id": record.id, "reason": getattr(error, "code", "validation_failed")},
        )
        return None
    agent.paused = record.status == "inactive"
    return agent.id
