"""Which agents the live-agents service must hear about. Every user change (any route) is watched
(`watch_agents`, registered on the aggregate by ciq.services.subscribers): an agent whose synced
view changed becomes `pending`, and an agent that was removed while the service may hold it is
remembered in `Account.agent_deletions`. The next live-agents call pushes both
(docs/api/live-agents.md "Sync states")."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.contracts.entities import Agent
    from ciq.domain.account import Account

# Bounds the root item: beyond this many unsent deletions the oldest are forgotten (and logged).
MAX_AGENT_DELETIONS = 500
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentView:
    """What the service holds of an agent: the fields a sync compares and sends."""

    id: str
    workspace_id: str
    knowledge_base_id: str
    name: str
    status: str
    channels: tuple[str, ...]

    @classmethod
    def of(cls, agent: Agent) -> AgentView:
        return cls(
            id=agent.id,
            workspace_id=agent.workspace_id,
            knowledge_base_id=agent.knowledge_base_id,
            name=agent.name,
            status=agent.status,
            channels=tuple(sorted(agent.connection_ids)),
        )


@dataclass(frozen=True)
class Baseline:
    """The agents of an account before a write, and the deletions not yet sent."""

    views: dict[str, AgentView]
    known_upstream: frozenset[str]  # agents the service may hold (they were pushed or imported)
    deletions: tuple[str, ...]

    @classmethod
    def of(cls, account: Account) -> Baseline:
        return cls(
            views={a.id: AgentView.of(a) for a in account.agents},
            known_upstream=frozenset(a.id for a in account.agents if a.sync_state is not None),
            deletions=tuple(account.agent_deletions),
        )


def track_changes(before: Baseline, account: Account) -> list[str]:
    """Marks changed and new agents `pending` and records removed ones for deletion upstream. Call it
    after `derive` (status and channels are part of the view). Returns the ids of deletions forgotten
    because of MAX_AGENT_DELETIONS."""
    current = {a.id for a in account.agents}
    for agent in account.agents:
        if before.views.get(agent.id) != AgentView.of(agent):
            agent.sync_state, agent.sync_error = "pending", None
    removed = [i for i in before.views if i not in current and i in before.known_upstream]
    # Kept: the earlier backlog, what the change itself added, what it removed; not an id in use again
    # (a re-created agent is pushed whole, which replaces the service's record).
    candidates = [*before.deletions, *account.agent_deletions, *removed]
    deletions = list(dict.fromkeys(i for i in candidates if i not in current))  # unique, oldest first
    forgotten = deletions[:-MAX_AGENT_DELETIONS] if len(deletions) > MAX_AGENT_DELETIONS else []
    account.agent_deletions = deletions[len(forgotten) :]
    return forgotten


def watch_agents(account: Account) -> Callable[[Account], None]:
    """The aggregate's watcher (ciq.services.subscribers): the baseline before a user's change,
    then `track_changes` after it."""
    baseline = Baseline.of(account)

    def after(changed: Account) -> None:
        if forgotten := track_changes(baseline, changed):
            _log.warning("live-agents deletions dropped (backlog full)", extra={"agent_ids": forgotten})

    return after
