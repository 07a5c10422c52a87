"""Which agent takes an agent-managed connection (CONTRACT §3, §10): the starting agent (the
workspace's default, or the onboarding target) while it has room, else an agent of that agent's KB
with room, else a new agent on that KB. Restricted to a KB, only agents of that KB qualify."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq.contracts.base import MAX_CONNECTIONS_PER_AGENT
from ciq.domain.defaults import add_agent, next_agent_name

if TYPE_CHECKING:
    from ciq.contracts.entities import Agent
    from ciq.domain.account import Account
    from ciq.domain.context import Context


def has_room(account: Account, agent_id: str, ignoring: str | None = None) -> bool:
    held = sum(1 for c in account.connections if c.agent_id == agent_id and c.id != ignoring)
    return held < MAX_CONNECTIONS_PER_AGENT


def assign_agent(
    account: Account,
    ctx: Context,
    workspace_id: str,
    *,
    start_agent_id: str | None = None,
    kb_id: str | None = None,
    ignoring: str | None = None,
) -> Agent:
    """The agent that takes one more connection; creates `My Agent N` when every candidate is full.
    `ignoring` is a connection id not counted against capacity (the one being reassigned)."""
    workspace = account.workspace(workspace_id)
    start_id = start_agent_id or workspace.default_agent_id
    start = next((a for a in account.agents_of(workspace_id) if a.id == start_id), None)
    target_kb = kb_id or (start.knowledge_base_id if start else workspace.default_kb_id)
    if start and start.knowledge_base_id == target_kb and has_room(account, start.id, ignoring):
        return start
    for agent in account.agents_on_kb(target_kb):
        if has_room(account, agent.id, ignoring):
            return agent
    return add_agent(
        account,
        ctx,
        workspace_id,
        target_kb,
        agent_id=ctx.claim_id(account, "agent", None),
        name=next_agent_name(account, workspace_id),
    )
