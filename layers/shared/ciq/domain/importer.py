"""Turning an imported document into an account (CONTRACT §9 "Untouched defaults", §10 "Import
normalization"): the client's ids are kept, references must resolve inside the document (422 when
they dangle), structural gaps are repaired and a document without schemaVersion is backfilled."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ciq.contracts.base import MAX_CONNECTIONS_PER_AGENT
from ciq.contracts.entities import Agent, Connection, Group, KbDraftState, KnowledgeBase, Workspace
from ciq.domain.account import Account
from ciq.domain.defaults import DEFAULT_AGENT_ID, DEFAULT_KB_ID, DEFAULT_WORKSPACE_ID
from ciq.domain.hydrate import assign_orphan_connections, hydrate
from ciq.domain.labels import normalize_label
from ciq.domain.mutations import check_family_fields
from ciq.errors import AppError, Detail, ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ciq.contracts.imports import ImportConnection, ImportDocument
    from ciq.domain.context import Context

ROOT = "/data"


def imported_account(current: Account, doc: ImportDocument, ctx: Context) -> Account:
    """A new account holding `doc`, keeping the current profile and setup facts."""
    _refuse_duplicate_ids(doc)
    account = Account(
        user_id=current.user_id,
        profile=current.profile,
        schema_version=doc.schema_version,
        setup=current.setup,
        initialized=True,
        touched=True,
    )
    account.groups = [Group(id=g.id, name=g.name) for g in doc.groups]
    _add_workspaces(account, doc, ctx)
    _add_knowledge_bases(account, doc, ctx)
    _add_agents(account, doc, ctx)
    _add_connections(account, doc, ctx)
    _add_node_positions(account, doc)
    account.sort_by_creation()  # before hydration, whose repairs pick the oldest KB / agent
    hydrate(account, ctx)
    assign_orphan_connections(account, ctx)
    _fill_kb_owned_links(account)
    return account  # derived and checked by the aggregate's sequence (ciq.domain.aggregate)


def _refuse_duplicate_ids(doc: ImportDocument) -> None:
    lists: dict[str, Sequence[Any]] = {
        "groups": doc.groups,
        "workspaces": doc.workspaces,
        "knowledgeBases": doc.knowledge_bases,
        "agents": doc.agents,
        "connections": doc.connections,
    }
    counts = Counter(item.id for items in lists.values() for item in items)
    details = [
        Detail(f"{ROOT}/{name}/{index}/id", "duplicate_id", f"id {item.id!r} is used more than once")
        for name, items in lists.items()
        for index, item in enumerate(items)
        if counts[item.id] > 1
    ]
    if details:
        raise ValidationFailed("the document repeats ids", details)


def _dangling(pointer: str, what: str, value: str) -> ValidationFailed:
    message = f"{what} {value!r} is not in the document"
    return ValidationFailed(message, [Detail(pointer, "dangling_reference", message)])


def _add_workspaces(account: Account, doc: ImportDocument, ctx: Context) -> None:
    for w in doc.workspaces:
        account.workspaces.append(
            Workspace(
                id=w.id,
                name=w.name,
                description=w.description,
                group_id=w.group_id or "default",
                owner_id=account.user_id,
                image=w.image,
                # Dangling defaults are repaired by hydration (the first KB / oldest agent); a missing
                # one (legacy documents have no defaultAgentId) is a valid id that hydration uses for
                # the KB or agent it adds when the workspace has none: the canonical ids for ws-1.
                default_kb_id=w.default_kb_id or _missing_default(w.id, DEFAULT_KB_ID, "kb", account, ctx),
                default_agent_id=w.default_agent_id
                or _missing_default(w.id, DEFAULT_AGENT_ID, "agent", account, ctx),
                created_at=w.created_at or ctx.now,
                updated_at=w.updated_at or ctx.now,
            )
        )


def _missing_default(workspace_id: str, canonical: str, prefix: str, account: Account, ctx: Context) -> str:
    if workspace_id == DEFAULT_WORKSPACE_ID:
        return canonical
    return ctx.claim_id(account, prefix, None)


def _add_knowledge_bases(account: Account, doc: ImportDocument, ctx: Context) -> None:
    workspaces = {w.id for w in account.workspaces}
    for index, kb in enumerate(doc.knowledge_bases):
        if kb.workspace_id not in workspaces:
            raise _dangling(f"{ROOT}/knowledgeBases/{index}/workspaceId", "workspace", kb.workspace_id)
        account.knowledge_bases.append(
            KnowledgeBase(
                id=kb.id,
                workspace_id=kb.workspace_id,
                group_id=kb.group_id,
                name=kb.name,
                draft=kb.draft or KbDraftState(),
                created_at=kb.created_at or ctx.now,
                updated_at=kb.updated_at or ctx.now,
            )
        )


def _add_agents(account: Account, doc: ImportDocument, ctx: Context) -> None:
    kb_home = {kb.id: kb.workspace_id for kb in account.knowledge_bases}
    for index, agent in enumerate(doc.agents):
        pointer = f"{ROOT}/agents/{index}"
        if agent.knowledge_base_id not in kb_home:
            raise _dangling(f"{pointer}/knowledgeBaseId", "knowledge base", agent.knowledge_base_id)
        home = kb_home[agent.knowledge_base_id]
        if agent.workspace_id is not None and agent.workspace_id != home:
            raise _dangling(
                f"{pointer}/workspaceId", "a workspace holding its knowledge base", agent.workspace_id
            )
        account.agents.append(
            Agent(
                id=agent.id,
                workspace_id=home,
                knowledge_base_id=agent.knowledge_base_id,
                name=agent.name,
                paused=agent.paused,
                created_at=agent.created_at or ctx.now,
                updated_at=agent.updated_at or ctx.now,
            )
        )


def _add_connections(account: Account, doc: ImportDocument, ctx: Context) -> None:
    workspaces = {w.id for w in account.workspaces}
    kb_home = {kb.id: kb.workspace_id for kb in account.knowledge_bases}
    agent_home = {a.id: a.workspace_id for a in account.agents}
    held: Counter[str] = Counter()
    for index, c in enumerate(doc.connections):
        pointer = f"{ROOT}/connections/{index}"
        if c.workspace_id not in workspaces:
            raise _dangling(f"{pointer}/workspaceId", "workspace", c.workspace_id)
        if c.knowledge_base_id is not None and kb_home.get(c.knowledge_base_id) != c.workspace_id:
            raise _dangling(
                f"{pointer}/knowledgeBaseId", "knowledge base of this workspace", c.knowledge_base_id
            )
        if c.family.agent_managed and c.agent_id is not None:
            if agent_home.get(c.agent_id) != c.workspace_id:
                raise _dangling(f"{pointer}/agentId", "agent of this workspace", c.agent_id)
            held[c.agent_id] += 1
            if held[c.agent_id] > MAX_CONNECTIONS_PER_AGENT and doc.schema_version >= 2:
                message = f"agent {c.agent_id!r} would hold more than {MAX_CONNECTIONS_PER_AGENT} connections"
                raise ValidationFailed(message, [Detail(f"{pointer}/agentId", "agent_full", message)])
        account.connections.append(_connection(account, c, ctx, pointer))


def _connection(account: Account, c: ImportConnection, ctx: Context, pointer: str) -> Connection:
    try:
        check_family_fields(c.family, c.platform, c.phone_number, c.compliance is not None, creating=True)
        taken = [
            o.label
            for o in account.connections
            if o.workspace_id == c.workspace_id and o.family == c.family and o.platform == c.platform
        ]
        label = normalize_label(c.label, taken)
    except AppError as error:
        raise error.at(pointer) from None
    return Connection(
        id=c.id,
        workspace_id=c.workspace_id,
        family=c.family,
        platform=c.platform,
        label=label,
        # Agent-managed: the agent (or, before the backfill, the legacy KB link it starts from).
        knowledge_base_id=c.knowledge_base_id,
        agent_id=c.agent_id if c.family.agent_managed else None,
        active=c.active,
        state=c.state,
        added_via=c.added_via,
        phone_number=c.phone_number,
        compliance=c.compliance,
        created_at=c.created_at or ctx.now,
        updated_at=c.updated_at or ctx.now,
    )


def _add_node_positions(account: Account, doc: ImportDocument) -> None:
    workspaces = {w.id for w in account.workspaces}
    for workspace_id, positions in doc.node_positions.items():
        if workspace_id not in workspaces:
            raise _dangling(f"{ROOT}/nodePositions/{workspace_id}", "workspace", workspace_id)
        if positions:
            account.node_positions[workspace_id] = dict(positions)


def _fill_kb_owned_links(account: Account) -> None:
    """A KB-owned connection without a KB goes to its workspace's default KB."""
    for connection in account.connections:
        if not connection.family.agent_managed and connection.knowledge_base_id is None:
            connection.knowledge_base_id = account.workspace(connection.workspace_id).default_kb_id
