"""Get Started (CONTRACT §4 `/api/setup-status`, §9 "Setup status", §10 "Onboarding"): the onboarding
target, the setup status derived from stored facts, and the lifecycle mutations.

Stored facts are `Account.setup` (selected channel types, complete, hidden, the sessions that
dismissed Get Started) and the account's own entities; everything the API shows beside them
(connections, progress, visibility, the target) is computed here on every read, never stored.
Connections are the account's connections: setup-status and user-data edit the same records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ciq.contracts import mutations as m
from ciq.contracts import setup_status as s
from ciq.contracts.entities import Family, KbDraftState
from ciq.domain import defaults
from ciq.domain.account import MAX_REMEMBERED_DISMISSALS
from ciq.domain.kb_validation import validate_kb_draft
from ciq.domain.mutations import Result, connection_create, connection_delete, connection_update
from ciq.errors import Detail, InvariantViolation, NotFound

if TYPE_CHECKING:
    from ciq.contracts.entities import Agent, KnowledgeBase, Workspace
    from ciq.contracts.mutations import Command
    from ciq.domain.account import Account
    from ciq.domain.context import Context


@dataclass(frozen=True)
class Target:
    """Where Get Started puts connections and what Step 3 trains: always the canonical ids."""

    workspace_id: str = defaults.DEFAULT_WORKSPACE_ID
    group_id: str = defaults.DEFAULT_GROUP_ID
    knowledge_base_id: str = defaults.DEFAULT_KB_ID
    agent_id: str = defaults.DEFAULT_AGENT_ID


# -- the target --------------------------------------------------------------------------------------
def target_of(account: Account) -> Target:
    """The target as it is or as `resolve_target` would recreate it. Its group is the target
    workspace's group: a workspace the user moved stays where it is; a recreated one is `default`."""
    workspace = _target_workspace(account)
    return Target(group_id=workspace.group_id if workspace else defaults.DEFAULT_GROUP_ID)


def resolve_target(account: Account, ctx: Context) -> Target:
    """Recreates, with the canonical ids and names, whatever part of the target is missing, each part
    alone: the default group, the workspace (with its seed description, its KB and agent), the KB,
    the agent (bound to the target KB). Existing parts are never moved or renamed."""
    _refuse_misplaced_parts(account)
    defaults.ensure_default_group(account)
    target = Target()
    workspace = _target_workspace(account)
    if workspace is None:
        defaults.add_workspace(
            account,
            ctx,
            workspace_id=target.workspace_id,
            name=defaults.DEFAULT_WORKSPACE_NAME,
            description=defaults.DEFAULT_WORKSPACE_DESCRIPTION,
            group_id=target.group_id,
            kb_id=target.knowledge_base_id,
            agent_id=target.agent_id,
        )
        return target_of(account)
    if _target_kb(account) is None:
        defaults.add_knowledge_base(account, ctx, workspace, kb_id=target.knowledge_base_id)
    if _target_agent(account) is None:
        defaults.add_agent(
            account,
            ctx,
            workspace.id,
            target.knowledge_base_id,
            agent_id=target.agent_id,
            name=defaults.DEFAULT_AGENT_NAME,
        )
    return target_of(account)


def _target_workspace(account: Account) -> Workspace | None:
    return next((w for w in account.workspaces if w.id == defaults.DEFAULT_WORKSPACE_ID), None)


def _target_kb(account: Account) -> KnowledgeBase | None:
    return next((kb for kb in account.knowledge_bases if _in_target(kb, defaults.DEFAULT_KB_ID)), None)


def _target_agent(account: Account) -> Agent | None:
    return next((a for a in account.agents if _in_target(a, defaults.DEFAULT_AGENT_ID)), None)


def _in_target(item: KnowledgeBase | Agent, wanted_id: str) -> bool:
    return item.id == wanted_id and item.workspace_id == defaults.DEFAULT_WORKSPACE_ID


def _refuse_misplaced_parts(account: Account) -> None:
    """A canonical id held by something else (possible only through an import, which keeps the
    client's ids; create mutations may not propose them) cannot be recreated in place: 409."""
    kinds: dict[str, str] = {g.id: "a group" for g in account.groups}
    kinds.update({w.id: "a workspace" for w in account.workspaces})
    for kb in account.knowledge_bases:
        kinds[kb.id] = f"a knowledge base of workspace {kb.workspace_id!r}"
    for agent in account.agents:
        kinds[agent.id] = f"an agent of workspace {agent.workspace_id!r}"
    kinds.update({c.id: "a connection" for c in account.connections})
    wanted = {
        defaults.DEFAULT_WORKSPACE_ID: "a workspace",
        defaults.DEFAULT_KB_ID: f"a knowledge base of workspace {defaults.DEFAULT_WORKSPACE_ID!r}",
        defaults.DEFAULT_AGENT_ID: f"an agent of workspace {defaults.DEFAULT_WORKSPACE_ID!r}",
    }
    details = [
        Detail("", "target_unavailable", f"id {part_id!r} should be {role} but is {kinds[part_id]}")
        for part_id, role in wanted.items()
        if part_id in kinds and kinds[part_id] != role
    ]
    if details:
        raise InvariantViolation("the Get Started target cannot be recreated with its canonical ids", details)


# -- the setup status --------------------------------------------------------------------------------
def setup_status(account: Account, session_id: str) -> s.SetupStatus:
    """Everything GET shows, from stored facts only; `account` must have its derived fields."""
    setup = account.setup
    target = target_of(account)
    connections = account.connections_of(target.workspace_id)
    progress = _progress(bool(setup.selected_channel_types), bool(connections), _kb_complete(account))
    dismissed = session_id in setup.dismissed_sessions
    return s.SetupStatus(
        selected_channel_types=list(setup.selected_channel_types),
        connections=connections,
        onboarding_complete=setup.onboarding_complete,
        persistently_hidden=setup.persistently_hidden,
        dismissed_for_session=dismissed,
        show_get_started=not (setup.onboarding_complete or setup.persistently_hidden or dismissed),
        progress=progress,
        onboarding_target=s.OnboardingTarget(
            workspace_id=target.workspace_id,
            group_id=target.group_id,
            knowledge_base_id=target.knowledge_base_id,
            agent_id=target.agent_id,
        ),
    )


def _progress(select_channels: bool, connect_channels: bool, train_ai: bool) -> s.Progress:
    steps = (select_channels, connect_channels, train_ai)
    return s.Progress(
        select_channels=select_channels,
        connect_channels=connect_channels,
        train_ai=train_ai,
        completed_steps=sum(steps),
    )


def _kb_complete(account: Account) -> bool:
    """A missing target KB counts as the blank one that would be recreated."""
    kb = _target_kb(account)
    return kb is not None and validate_kb_draft(kb.draft).is_complete


# -- lifecycle mutations -----------------------------------------------------------------------------
def select_channel_types(account: Account, ctx: Context, mut: s.SelectChannelTypes) -> Result:
    # A set, kept in catalog order: the same selection reads the same whatever order it was sent in.
    chosen = set(mut.channel_types)
    account.setup.selected_channel_types = [family for family in Family if family in chosen]
    return _result(mut)


def add_connection(account: Account, ctx: Context, mut: s.AddConnection) -> Result:
    """The user-data rules of connection.create on the target: KB-owned families on the target KB,
    agent families by the assignment rule starting at the target agent; never an `addedVia`."""
    target = resolve_target(account, ctx)
    fields = _given(mut)
    if not mut.family.agent_managed:
        fields["knowledge_base_id"] = target.knowledge_base_id  # docs-hub rule 4: kb-default-1
    create = m.ConnectionCreate(type="connection.create", workspace_id=target.workspace_id, **fields)
    return _result(mut, connection_create(account, ctx, create, start_agent_id=target.agent_id)["id"])


def update_connection(account: Account, ctx: Context, mut: s.UpdateConnection) -> Result:
    _check_in_target(account, ctx, mut.connection_id)
    connection_update(account, ctx, m.ConnectionUpdate(type="connection.update", **_given(mut)))
    return _result(mut, mut.connection_id)


def remove_connection(account: Account, ctx: Context, mut: s.RemoveConnection) -> Result:
    _check_in_target(account, ctx, mut.connection_id)
    delete = m.ConnectionDelete(type="connection.delete", connection_id=mut.connection_id)
    connection_delete(account, ctx, delete)
    return _result(mut, mut.connection_id)


def set_persistently_hidden(
    account: Account, ctx: Context, mut: s.SetPersistentlyHidden) -> Result:
    account.setup.persistently_hidden = mut.hidden
    return _result(mut)


def dismiss_for_session(account: Account, ctx: Context, mut: s.DismissForSession) -> Result:
    # Sessions live 12 h, so only recent dismissals matter: the oldest are forgotten first, which
    # keeps the root item bounded however often the user signs in.
    session_id = _session(ctx)
    others = [sid for sid in account.setup.dismissed_sessions if sid != session_id]
    account.setup.dismissed_sessions = [*others, session_id][-MAX_REMEMBERED_DISMISSALS:]
    return _result(mut)


def restore_get_started(account: Account, ctx: Context, mut: s.RestoreGetStarted) -> Result:
    setup = account.setup
    if setup.onboarding_complete:
        message = "onboarding is complete: Get Started is retired and cannot be restored"
        raise InvariantViolation(message, [Detail("", "onboarding_complete", message)])
    setup.persistently_hidden = False
    session_id = _session(ctx)
    setup.dismissed_sessions = [sid for sid in setup.dismissed_sessions if sid != session_id]
    return _result(mut)


def complete_onboarding(account: Account, ctx: Context, mut: s.CompleteOnboarding) -> Result:
    # A missing target KB counts as the blank one a connection mutation would recreate.
    kb = _target_kb(account)
    missing = validate_kb_draft(kb.draft if kb else KbDraftState()).missing_fields
    if missing:
        raise InvariantViolation(
            f"knowledge base {defaults.DEFAULT_KB_ID!r} is incomplete: set {', '.join(missing)} first",
            [Detail(f"/draft/{name}", "missing", f"{name} is not set") for name in missing],
        )
    account.setup.onboarding_complete = True
    return _result(mut)


def _check_in_target(account: Account, ctx: Context, connection_id: str) -> None:
    """A connection of the target workspace, after the target is resolved (every connection
    mutation recreates a missing target, CONTRACT §9); any other connection is 404."""
    target = resolve_target(account, ctx)
    connection = account.connection(connection_id)
    if connection.workspace_id != target.workspace_id:
        message = f"connection {connection_id!r} is not in the Get Started workspace {target.workspace_id!r}"
        raise NotFound(message, [Detail("/connectionId", "not_found", message)])


def _given(mut: s.AddConnection | s.UpdateConnection) -> dict[str, Any]:
    """The fields the client sent (a field left out stays unchanged), by their Python names."""
    return {name: getattr(mut, name) for name in mut.model_fields_set if name != "type"}


def _result(mut: Command, entity_id: Any = None) -> Result:
    return {"type": getattr(mut, "type", ""), "id": entity_id}


def _session(ctx: Context) -> str:
    """Dismissals belong to the calling session (a new sign-in shows Get Started again)."""
    if ctx.session_id is None:
        raise ValueError("a Get Started dismissal needs the calling session")
    return ctx.session_id
