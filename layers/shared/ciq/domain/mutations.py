"""Applying one mutation of CONTRACT §4 to an account. Each function enforces the invariants of §2
that its change could break and returns the result entry `{type, id, ...}`. Errors carry JSON
Pointers relative to the mutation object; the service prefixes them for batches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ciq.contracts.entities import PHONE_FAMILIES, PLATFORMS, Connection, Family, Group
from ciq.domain import defaults
from ciq.domain.assignment import assign_agent, has_room
from ciq.domain.derive import activation_blockers
from ciq.domain.labels import normalize_label, with_suffix
from ciq.errors import AgentNotReady, Detail, InvariantViolation, NotFound, invalid

if TYPE_CHECKING:
    from ciq.contracts import mutations as m
    from ciq.contracts.entities import Agent, KnowledgeBase, Workspace
    from ciq.domain.account import Account
    from ciq.domain.context import Context

Result = dict[str, Any]
COPY_SUFFIX = " (Copy)"


def violation(pointer: str, message: str, code: str = "invariant_violation") -> InvariantViolation:
    return InvariantViolation(message, [Detail(pointer, code, message)])


def given(mutation: m._Mutation, name: str) -> bool:
    return name in mutation.model_fields_set


# -- profile and groups ------------------------------------------------------------------------------
def profile_update(account: Account, ctx: Context, mut: m.ProfileUpdate) -> Result:
    for name in ("first_name", "last_name", "company", "phone"):
        if given(mut, name):
            setattr(account.profile, name, getattr(mut, name))
    return {"type": mut.type, "id": account.user_id}


def group_create(account: Account, ctx: Context, mut: m.GroupCreate) -> Result:
    group = Group(id=ctx.claim_id(account, "grp", mut.id), name=mut.name)
    account.groups.append(group)
    return {"type": mut.type, "id": group.id}


def group_update(account: Account, ctx: Context, mut: m.GroupUpdate) -> Result:
    account.group(mut.group_id).name = mut.name
    return {"type": mut.type, "id": mut.group_id}


def group_delete(account: Account, ctx: Context, mut: m.GroupDelete) -> Result:
    group = account.group(mut.group_id)
    if group.id == defaults.DEFAULT_GROUP_ID:
        raise violation("/groupId", "the default group cannot be deleted")
    account.groups.remove(group)
    for workspace in account.workspaces:
        if workspace.group_id == group.id:
            workspace.group_id, workspace.updated_at = defaults.DEFAULT_GROUP_ID, ctx.now
    for kb in account.knowledge_bases:
        if kb.group_id == group.id:
            kb.group_id, kb.updated_at = defaults.DEFAULT_GROUP_ID, ctx.now
    return {"type": mut.type, "id": group.id}


# -- workspaces --------------------------------------------------------------------------------------
def workspace_create(account: Account, ctx: Context, mut: m.WorkspaceCreate) -> Result:
    group_id = account.group(mut.group_id).id if mut.group_id else defaults.DEFAULT_GROUP_ID
    workspace = defaults.add_workspace(
        account,
        ctx,
        workspace_id=ctx.claim_id(account, "ws", mut.id),
        name=mut.name,
        description=mut.description or "",
        group_id=group_id,
        image=mut.image,
    )
    return _workspace_result(mut.type, workspace)


def workspace_update(account: Account, ctx: Context, mut: m.WorkspaceUpdate) -> Result:
    workspace = account.workspace(mut.workspace_id)
    if mut.group_id is not None:
        workspace.group_id = account.group(mut.group_id).id
    if mut.default_kb_id is not None:
        kb = account.knowledge_base(mut.default_kb_id, "/defaultKbId")
        _same_workspace(kb.workspace_id, workspace.id, "/defaultKbId", "knowledge base")
        workspace.default_kb_id = kb.id
    if mut.default_agent_id is not None:
        agent = account.agent(mut.default_agent_id, "/defaultAgentId")
        _same_workspace(agent.workspace_id, workspace.id, "/defaultAgentId", "agent")
        workspace.default_agent_id = agent.id
    for name in ("name", "description", "image"):
        if given(mut, name):
            setattr(workspace, name, getattr(mut, name))
    workspace.updated_at = ctx.now
    return {"type": mut.type, "id": workspace.id}


def workspace_duplicate(account: Account, ctx: Context, mut: m.WorkspaceDuplicate) -> Result:
    source = account.workspace(mut.workspace_id)
    copy = defaults.add_workspace(
        account,
        ctx,
        workspace_id=ctx.claim_id(account, "ws", mut.id),
        name=with_suffix(source.name, COPY_SUFFIX, 120),
        description=source.description,
        group_id=source.group_id,
        image=source.image,
        after=source.id,
    )
    return _workspace_result(mut.type, copy)


def workspace_delete(account: Account, ctx: Context, mut: m.WorkspaceDelete) -> Result:
    workspace = account.workspace(mut.workspace_id)
    if len(account.workspaces) == 1:
        raise violation("/workspaceId", "the last workspace cannot be deleted")
    account.workspaces.remove(workspace)
    account.knowledge_bases = [kb for kb in account.knowledge_bases if kb.workspace_id != workspace.id]
    account.agents = [a for a in account.agents if a.workspace_id != workspace.id]
    account.connections = [c for c in account.connections if c.workspace_id != workspace.id]
    account.node_positions.pop(workspace.id, None)
    return {"type": mut.type, "id": workspace.id}


def workspace_reorder(account: Account, ctx: Context, mut: m.WorkspaceReorder) -> Result:
    by_id = {w.id: w for w in account.workspaces}
    for index, workspace_id in enumerate(mut.workspace_ids):
        if workspace_id not in by_id:
            pointer = f"/workspaceIds/{index}"
            raise NotFound(
                f"workspace {workspace_id!r} not found", [Detail(pointer, "not_found", "no such workspace")]
            )
    if len(set(mut.workspace_ids)) != len(mut.workspace_ids) or len(mut.workspace_ids) != len(by_id):
        raise invalid(
            "/workspaceIds", "workspaceIds must list every workspace exactly once", "not_a_permutation"
        )
    account.workspaces = [by_id[i] for i in mut.workspace_ids]
    return {"type": mut.type, "id": None}


def _workspace_result(kind: str, workspace: Workspace) -> Result:
    return {
        "type": kind,
        "id": workspace.id,
        "knowledgeBaseId": workspace.default_kb_id,
        "agentId": workspace.default_agent_id,
    }


# -- knowledge bases ---------------------------------------------------------------------------------
def knowledge_base_create(account: Account, ctx: Context, mut: m.KnowledgeBaseCreate) -> Result:
    workspace = account.workspace(mut.workspace_id)
    group_id = account.group(mut.group_id).id if mut.group_id else None
    kb = defaults.add_knowledge_base(
        account,
        ctx,
        workspace,
        kb_id=ctx.claim_id(account, "kb", mut.id),
        name=mut.name or defaults.DEFAULT_KB_NAME,
        group_id=group_id,
        draft=mut.draft,
    )
    return {"type": mut.type, "id": kb.id}


def knowledge_base_update(account: Account, ctx: Context, mut: m.KnowledgeBaseUpdate) -> Result:
    kb = account.knowledge_base(mut.knowledge_base_id)
    if mut.name is not None:
        kb.name = mut.name
    if mut.group_id is not None:
        kb.group_id = account.group(mut.group_id).id
    if mut.draft is not None:
        for key in mut.draft.model_fields_set:
            setattr(kb.draft, key, getattr(mut.draft, key))
    kb.updated_at = ctx.now
    return {"type": mut.type, "id": kb.id}


def knowledge_base_delete(account: Account, ctx: Context, mut: m.KnowledgeBaseDelete) -> Result:
    kb = account.knowledge_base(mut.knowledge_base_id)
    workspace = account.workspace(kb.workspace_id)
    if len(account.kbs_of(workspace.id)) == 1:
        raise violation("/knowledgeBaseId", "a workspace's only knowledge base cannot be deleted")
    assigned = account.agents_on_kb(kb.id)
    if assigned:
        message = "agents are assigned to this knowledge base; move or delete them first"
        raise InvariantViolation(
            message,
            [Detail("/knowledgeBaseId", "agents_assigned", f"agent {a.id!r} uses it") for a in assigned],
        )
    if workspace.default_kb_id == kb.id:
        raise violation(
            "/knowledgeBaseId",
            "this is the workspace's default knowledge base; make another one the default first",
            "default_knowledge_base",
        )
    for connection in account.connections:
        if connection.knowledge_base_id == kb.id and not connection.family.agent_managed:
            connection.knowledge_base_id = workspace.default_kb_id
            connection.updated_at = ctx.now
    account.knowledge_bases.remove(kb)
    return {"type": mut.type, "id": kb.id}


# -- agents ------------------------------------------------------------------------------------------
def agent_create(account: Account, ctx: Context, mut: m.AgentCreate) -> Result:
    workspace = account.workspace(mut.workspace_id)
    kb = account.knowledge_base(mut.knowledge_base_id)
    _same_workspace(kb.workspace_id, workspace.id, "/knowledgeBaseId", "knowledge base")
    agent = defaults.add_agent(
        account, ctx, workspace.id, kb.id, agent_id=ctx.claim_id(account, "agent", mut.id), name=mut.name
    )
    return {"type": mut.type, "id": agent.id}


def agent_update(account: Account, ctx: Context, mut: m.AgentUpdate) -> Result:
    agent = account.agent(mut.agent_id)
    if mut.name is not None:
        agent.name = mut.name
    if mut.knowledge_base_id is not None:
        kb = account.knowledge_base(mut.knowledge_base_id)
        _same_workspace(kb.workspace_id, agent.workspace_id, "/knowledgeBaseId", "knowledge base")
        agent.knowledge_base_id = kb.id
    if mut.status == "inactive":
        agent.paused = True
    elif mut.status == "active":
        blockers = activation_blockers(account, agent)
        if blockers:
            raise AgentNotReady("the agent cannot be active yet", blockers)
        agent.paused = False
    agent.updated_at = ctx.now
    return {"type": mut.type, "id": agent.id}


def agent_delete(account: Account, ctx: Context, mut: m.AgentDelete) -> Result:
    agent = account.agent(mut.agent_id)
    workspace = account.workspace(agent.workspace_id)
    if len(account.agents_of(workspace.id)) == 1:
        raise violation("/agentId", "a workspace's last agent cannot be deleted")
    orphans = account.connections_of_agent(agent.id)
    account.agents.remove(agent)
    if workspace.default_agent_id == agent.id:
        workspace.default_agent_id = account.agents_of(workspace.id)[0].id  # the oldest remaining
        workspace.updated_at = ctx.now
    for connection in orphans:
        connection.agent_id = None
        connection.agent_id = assign_agent(account, ctx, workspace.id).id
        connection.updated_at = ctx.now
    return {"type": mut.type, "id": agent.id}


# -- connections -------------------------------------------------------------------------------------
def connection_create(
    account: Account, ctx: Context, mut: m.ConnectionCreate, *, start_agent_id: str | None = None
) -> Result:
    """`start_agent_id`: where the assignment rule starts instead of the workspace's default agent
    (Get Started starts at its target agent, CONTRACT §10 "Onboarding")."""
    workspace = account.workspace(mut.workspace_id)
    family = mut.family
    check_family_fields(family, mut.platform, mut.phone_number, mut.compliance is not None, creating=True)
    connection = Connection(
        id=ctx.claim_id(account, "conn", mut.id),
        workspace_id=workspace.id,
        family=family,
        platform=mut.platform,
        label=normalize_label(mut.label, _labels_in_scope(account, workspace.id, family, mut.platform)),
        added_via=mut.added_via,
        phone_number=mut.phone_number,
        compliance=mut.compliance,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    if family.agent_managed:
        connection.agent_id = _choose_agent(
            account,
            ctx,
            workspace,
            agent_id=mut.agent_id,
            kb_id=mut.knowledge_base_id,
            connection=None,
            start_agent_id=start_agent_id,
        ).id
    else:
        if mut.agent_id is not None:
            raise violation("/agentId", f"{family} connections are owned by a knowledge base, not an agent")
        connection.knowledge_base_id = _kb_in(
            account, workspace, mut.knowledge_base_id or workspace.default_kb_id
        ).id
    account.connections.append(connection)
    return {"type": mut.type, "id": connection.id}


def connection_update(account: Account, ctx: Context, mut: m.ConnectionUpdate) -> Result:
    connection = account.connection(mut.connection_id)
    workspace = account.workspace(connection.workspace_id)
    family = connection.family
    check_family_fields(
        family, connection.platform, mut.phone_number, mut.compliance is not None, creating=False
    )
    if mut.label is not None:
        others = _labels_in_scope(account, workspace.id, family, connection.platform, ignoring=connection.id)
        connection.label = normalize_label(mut.label, others)
    if family.agent_managed:
        if mut.agent_id is not None or mut.knowledge_base_id is not None:
            connection.agent_id = _choose_agent(
                account,
                ctx,
                workspace,
                agent_id=mut.agent_id,
                kb_id=mut.knowledge_base_id,
                connection=connection,
            ).id
    else:
        if mut.agent_id is not None:
            raise violation("/agentId", f"{family} connections are owned by a knowledge base, not an agent")
        if mut.knowledge_base_id is not None:
            connection.knowledge_base_id = _kb_in(account, workspace, mut.knowledge_base_id).id
    for name in ("active", "state", "phone_number", "compliance"):
        if given(mut, name):
            setattr(connection, name, getattr(mut, name))
    connection.updated_at = ctx.now
    return {"type": mut.type, "id": connection.id}


def connection_delete(account: Account, ctx: Context, mut: m.ConnectionDelete) -> Result:
    account.connections.remove(account.connection(mut.connection_id))
    return {"type": mut.type, "id": mut.connection_id}


def node_positions_set(account: Account, ctx: Context, mut: m.NodePositionsSet) -> Result:
    workspace = account.workspace(mut.workspace_id)
    if mut.positions:
        account.node_positions[workspace.id] = dict(mut.positions)
    else:
        account.node_positions.pop(workspace.id, None)
    return {"type": mut.type, "id": workspace.id}


def _choose_agent(
    account: Account,
    ctx: Context,
    workspace: Workspace,
    *,
    agent_id: str | None,
    kb_id: str | None,
    connection: Connection | None,
    start_agent_id: str | None = None,
) -> Agent:
    """The agent for an agent-managed connection: the one named (with room), else the assignment
    rule, restricted to the KB when one is named."""
    ignoring = connection.id if connection else None
    if agent_id is not None:
        agent = account.agent(agent_id)
        _same_workspace(agent.workspace_id, workspace.id, "/agentId", "agent")
        if kb_id is not None and account.knowledge_base(kb_id).id != agent.knowledge_base_id:
            raise violation("/knowledgeBaseId", "knowledgeBaseId must be the agent's knowledge base")
        if not has_room(account, agent.id, ignoring):
            raise violation("/agentId", f"agent {agent.id!r} already holds 4 connections", "agent_full")
        return agent
    kb = _kb_in(account, workspace, kb_id) if kb_id else None
    if connection and connection.agent_id and kb:
        current = account.agent(connection.agent_id)
        if current.knowledge_base_id == kb.id:
            return current  # already served from that KB: nothing moves
    return assign_agent(
        account,
        ctx,
        workspace.id,
        start_agent_id=start_agent_id,
        kb_id=kb.id if kb else None,
        ignoring=ignoring,
    )


def _kb_in(account: Account, workspace: Workspace, kb_id: str) -> KnowledgeBase:
    kb = account.knowledge_base(kb_id)
    _same_workspace(kb.workspace_id, workspace.id, "/knowledgeBaseId", "knowledge base")
    return kb


def _same_workspace(owner: str, workspace_id: str, pointer: str, what: str) -> None:
    if owner != workspace_id:
        raise violation(pointer, f"the {what} belongs to another workspace", "cross_workspace")


def _labels_in_scope(
    account: Account, workspace_id: str, family: Family, platform: str | None, ignoring: str | None = None
) -> list[str]:
    return [
        c.label
        for c in account.connections
        if c.workspace_id == workspace_id
        and c.family == family
        and c.platform == platform
        and c.id != ignoring
    ]


def check_family_fields(
    family: Family, platform: str | None, phone: str | None, has_compliance: bool, *, creating: bool
) -> None:
    platforms = PLATFORMS.get(family)
    if creating and platforms is not None and platform not in platforms:
        raise invalid(
            "/platform", f"platform is required for {family}: one of {', '.join(platforms)}", "enum"
        )
    if creating and platforms is None and platform is not None:
        raise invalid("/platform", f"{family} connections have no platform", "not_allowed")
    if creating and family in PHONE_FAMILIES and phone is None:
        raise invalid("/phoneNumber", f"phoneNumber (E.164) is required for {family}", "missing")
    if family not in PHONE_FAMILIES and phone is not None:
        raise invalid("/phoneNumber", f"{family} connections have no phone number", "not_allowed")
    if family != Family.SMS and has_compliance:
        raise invalid("/compliance", "compliance (10DLC) applies to sms connections only", "not_allowed")
