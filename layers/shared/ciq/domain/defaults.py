"""Canonical defaults (CONTRACT §1, §10) and the blank entities every new workspace gets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq.contracts.entities import Agent, Group, KbDraftState, KnowledgeBase, Workspace

if TYPE_CHECKING:
    from ciq.domain.account import Account
    from ciq.domain.context import Context

DEFAULT_GROUP_ID = "default"
DEFAULT_GROUP_NAME = "Default group"
DEFAULT_WORKSPACE_ID = "ws-1"
DEFAULT_WORKSPACE_NAME = "My Workspace"
DEFAULT_WORKSPACE_DESCRIPTION = (
    "This first workspace. A default knowledge base is already connected and must be configured "
    "for AI to work."
)
DEFAULT_KB_ID = "kb-default-1"
DEFAULT_KB_NAME = "My Knowledge Base"
DEFAULT_AGENT_ID = "agent-default-1"
DEFAULT_AGENT_NAME = "My Agent"


def ensure_default_group(account: Account) -> bool:
    if any(g.id == DEFAULT_GROUP_ID for g in account.groups):
        return False
    account.groups.insert(0, Group(id=DEFAULT_GROUP_ID, name=DEFAULT_GROUP_NAME))
    return True


def initialize(account: Account, ctx: Context) -> None:
    """The first data of a new account: default group, workspace, KB and agent, bound together."""
    ensure_default_group(account)
    add_workspace(
        account,
        ctx,
        workspace_id=DEFAULT_WORKSPACE_ID,
        name=DEFAULT_WORKSPACE_NAME,
        description=DEFAULT_WORKSPACE_DESCRIPTION,
        group_id=DEFAULT_GROUP_ID,
        kb_id=DEFAULT_KB_ID,
        agent_id=DEFAULT_AGENT_ID,
    )
    account.initialized = True


def add_workspace(
    account: Account,
    ctx: Context,
    *,
    workspace_id: str,
    name: str,
    group_id: str,
    description: str = "",
    image: str | None = None,
    kb_id: str | None = None,
    agent_id: str | None = None,
    after: str | None = None,
) -> Workspace:
    """A workspace with its blank KB and default agent (invariant §2.2), placed at the end or right
    after the workspace `after`."""
    kb_id = kb_id or ctx.claim_id(account, "kb", None)
    agent_id = agent_id or ctx.claim_id(account, "agent", None)
    workspace = Workspace(
        id=workspace_id,
        name=name,
        description=description,
        group_id=group_id,
        owner_id=account.user_id,
        image=image,
        default_kb_id=kb_id,
        default_agent_id=agent_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    position = len(account.workspaces)
    if after is not None:
        position = next(i for i, w in enumerate(account.workspaces) if w.id == after) + 1
    account.workspaces.insert(position, workspace)
    add_knowledge_base(account, ctx, workspace, kb_id=kb_id, name=DEFAULT_KB_NAME)
    add_agent(account, ctx, workspace.id, kb_id, agent_id=agent_id, name=DEFAULT_AGENT_NAME)
    return workspace


def add_knowledge_base(
    account: Account,
    ctx: Context,
    workspace: Workspace,
    *,
    kb_id: str,
    name: str = DEFAULT_KB_NAME,
    group_id: str | None = None,
    draft: KbDraftState | None = None,
) -> KnowledgeBase:
    kb = KnowledgeBase(
        id=kb_id,
        workspace_id=workspace.id,
        group_id=group_id or workspace.group_id,
        name=name,
        draft=draft.model_copy(deep=True) if draft else KbDraftState(),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    account.knowledge_bases.append(kb)
    return kb


def add_agent(
    account: Account, ctx: Context, workspace_id: str, kb_id: str, *, agent_id: str, name: str
) -> Agent:
    agent = Agent(
        id=agent_id,
        workspace_id=workspace_id,
        knowledge_base_id=kb_id,
        name=name,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    account.agents.append(agent)
    return agent


def next_agent_name(account: Account, workspace_id: str) -> str:
    """`My Agent` for a workspace's first agent, then the lowest free `My Agent N` (N >= 2)."""
    names = {a.name for a in account.agents_of(workspace_id)}
    if not names:
        return DEFAULT_AGENT_NAME
    n = 2
    while f"{DEFAULT_AGENT_NAME} {n}" in names:
        n += 1
    return f"{DEFAULT_AGENT_NAME} {n}"
