"""Hydration on every read (CONTRACT §3): create the defaults of a new account, upgrade old shapes by
`schemaVersion`, repair structural gaps, recompute derived fields. Returns whether stored facts
changed, so the caller writes only then."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq.contracts.base import MAX_CONNECTIONS_PER_AGENT
from ciq.contracts.entities import SCHEMA_VERSION
from ciq.domain import defaults
from ciq.domain.assignment import has_room
from ciq.domain.derive import derive

if TYPE_CHECKING:
    from ciq.contracts.entities import Agent, Connection, KnowledgeBase, Workspace
    from ciq.domain.account import Account
    from ciq.domain.context import Context

AGENTS_SCHEMA_VERSION = 2  # the version that introduced agents


def hydrate(account: Account, ctx: Context) -> bool:
    changed = False
    if not account.initialized:
        defaults.initialize(account, ctx)
        changed = True
    changed = repair(account, ctx) or changed
    if account.schema_version < AGENTS_SCHEMA_VERSION:
        backfill_agents(account, ctx)
        changed = True
    if account.schema_version != SCHEMA_VERSION:
        account.schema_version = SCHEMA_VERSION
        changed = True
    derive(account)
    return changed


def backfill_agents(account: Account, ctx: Context) -> None:
    """The docs-hub backfill: every KB gets an agent of its workspace, then connections without a
    valid agent are assigned. Valid assignments never move, so a second run changes nothing."""
    for workspace in account.workspaces:
        for kb in account.kbs_of(workspace.id):
            if not account.agents_on_kb(kb.id):
                _new_agent(account, ctx, workspace, kb)
    assign_orphan_connections(account, ctx)


def assign_orphan_connections(account: Account, ctx: Context) -> None:
    """Agent-managed connections without a valid agent (or beyond an agent's first four) go to
    agents of their own KB with room, else to a new agent of that KB."""
    for connection in list(account.connections):
        if not connection.family.agent_managed:
            connection.agent_id = None
            continue
        if _validly_assigned(account, connection):
            continue
        workspace = account.workspace(connection.workspace_id)
        kb = _own_kb(account, workspace, connection)
        connection.agent_id = None
        connection.agent_id = _agent_with_room(account, ctx, workspace, kb).id
        connection.knowledge_base_id = None  # derived from the agent from now on


def repair(account: Account, ctx: Context) -> bool:
    """Structural invariants a stored or imported account may lack: the default group, a KB and an
    agent in every workspace, defaults that point inside their workspace, known groups."""
    changed = defaults.ensure_default_group(account)
    groups = {g.id for g in account.groups}
    for workspace in account.workspaces:
        if workspace.group_id not in groups:
            workspace.group_id, changed = defaults.DEFAULT_GROUP_ID, True
        changed = _repair_workspace(account, ctx, workspace) or changed
    for kb in account.knowledge_bases:
        if kb.group_id is None or kb.group_id not in groups:
            kb.group_id, changed = account.workspace(kb.workspace_id).group_id, True
    return changed


def _repair_workspace(account: Account, ctx: Context, workspace: Workspace) -> bool:
    changed = False
    kbs = account.kbs_of(workspace.id)
    if not kbs:
        kb_id = _free(account, workspace.default_kb_id, "kb", ctx)
        kbs = [defaults.add_knowledge_base(account, ctx, workspace, kb_id=kb_id)]
        changed = True
    if workspace.default_kb_id not in {kb.id for kb in kbs}:
        workspace.default_kb_id, changed = kbs[0].id, True
    own_kbs = {kb.id for kb in kbs}
    for agent in account.agents_of(workspace.id):
        if agent.knowledge_base_id not in own_kbs:
            agent.knowledge_base_id, changed = workspace.default_kb_id, True
    agents = account.agents_of(workspace.id)
    if not agents:
        agent_id = _free(account, workspace.default_agent_id, "agent", ctx)
        agents = [
            defaults.add_agent(
                account,
                ctx,
                workspace.id,
                workspace.default_kb_id,
                agent_id=agent_id,
                name=defaults.DEFAULT_AGENT_NAME,
            )
        ]
        changed = True
    if workspace.default_agent_id not in {a.id for a in agents}:
        workspace.default_agent_id, changed = agents[0].id, True
    return changed


def _validly_assigned(account: Account, connection: Connection) -> bool:
    agent = next((a for a in account.agents if a.id == connection.agent_id), None)
    if agent is None or agent.workspace_id != connection.workspace_id:
        return False
    holders = [c.id for c in account.connections if c.agent_id == agent.id]
    return holders.index(connection.id) < MAX_CONNECTIONS_PER_AGENT  # the first four keep their place


def _own_kb(account: Account, workspace: Workspace, connection: Connection) -> KnowledgeBase:
    for kb in account.kbs_of(workspace.id):
        if kb.id == connection.knowledge_base_id:
            return kb
    return account.knowledge_base(workspace.default_kb_id)


def _agent_with_room(account: Account, ctx: Context, workspace: Workspace, kb: KnowledgeBase) -> Agent:
    for agent in account.agents_on_kb(kb.id):
        if has_room(account, agent.id):
            return agent
    return _new_agent(account, ctx, workspace, kb)


def _new_agent(account: Account, ctx: Context, workspace: Workspace, kb: KnowledgeBase) -> Agent:
    preferred = workspace.default_agent_id if kb.id == workspace.default_kb_id else None
    return defaults.add_agent(
        account,
        ctx,
        workspace.id,
        kb.id,
        agent_id=_free(account, preferred, "agent", ctx),
        name=defaults.next_agent_name(account, workspace.id),
    )


def _free(account: Account, preferred: str | None, prefix: str, ctx: Context) -> str:
    """`preferred` (e.g. a workspace's dangling defaultAgentId) when unused, else a new id."""
    if preferred and preferred not in account.all_ids():
        return preferred
    return ctx.claim_id(account, prefix, None)
