"""Stored-record models: how an account is laid out in items (a root, one item per workspace).

Derived fields are never stored; the domain recomputes them after every load."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ciq.contracts.entities import (
    Agent,
    Connection,
    Group,
    KnowledgeBase,
    NodePosition,
    Profile,
    Workspace,
)
from ciq.domain.account import Account, SetupState
from ciq.domain.reach import Outside

_DERIVED = {
    "workspace": {"number_of_knowledge_bases", "connected_apps", "apps_activated"},
    "knowledge_bases": {"__all__": {"status", "agents_set_count"}},
    "agents": {"__all__": {"status", "connection_ids"}},
}


class IdIndex(BaseModel):
    """Which workspace holds each KB, agent and connection (a scoped write finds the workspace items
    of the ids it names here, and claims new ids against it), and the newest `createdAt` of any
    of them (at least: a partial write only raises it). An item of its own (keys.INDEX_SK), not a
    root field: every write rewrites the root and a conditional GET reads it, so the root stays
    small; the index is rewritten only when an id comes or goes."""

    model_config = ConfigDict(extra="ignore")

    homes: dict[str, list[str]] = {}
    newest_created_at: str = ""


class RootRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    schema_version: int
    initialized: bool = False
    touched: bool = False
    profile: Profile
    groups: list[Group] = []
    workspace_order: list[str] = []
    # The version at which each workspace item was last written: a read that finds another version
    # saw a write in progress and reads again.
    workspace_versions: dict[str, int] = {}
    setup: SetupState = SetupState()
    agent_deletions: list[str] = []
    # The version at which the index item was last written; None: written before the index existed
    # (the next write adds it). A read that finds the index at another version read a write half-way.
    index_version: int | None = None


class WorkspaceRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workspace: Workspace
    knowledge_bases: list[KnowledgeBase] = []
    agents: list[Agent] = []
    connections: list[Connection] = []
    node_positions: dict[str, NodePosition] = {}

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude=_DERIVED, by_alias=True).encode()  # type: ignore[arg-type]


def root_record(
    account: Account, workspace_versions: dict[str, int], index_version: int | None = None
) -> RootRecord:
    """A partial account keeps its workspace order (a change that moves workspaces needs the whole
    account: ciq.domain.aggregate)."""
    order = account.outside.workspace_order if account.outside else (w.id for w in account.workspaces)
    return RootRecord(
        schema_version=account.schema_version,
        initialized=account.initialized,
        touched=account.touched,
        profile=account.profile,
        groups=account.groups,
        workspace_order=list(order),
        workspace_versions=workspace_versions,
        setup=account.setup,
        agent_deletions=account.agent_deletions,
        index_version=index_version,
    )


def id_index(account: Account, records: dict[str, WorkspaceRecord], earlier: IdIndex | None) -> IdIndex:
    """The index of `account` split into `records`; of a partial account, `earlier` updated with
    the workspaces it holds."""
    partial = account.outside is not None and earlier is not None
    homes = dict(earlier.homes) if partial and earlier else {}
    newest = earlier.newest_created_at if partial and earlier else ""
    for workspace_id, record in records.items():
        entities: list[KnowledgeBase | Agent | Connection] = [
            *record.knowledge_bases,
            *record.agents,
            *record.connections,
        ]
        homes[workspace_id] = [entity.id for entity in entities]
        newest = max([newest, *(entity.created_at for entity in entities)])
    return IdIndex(homes=homes, newest_created_at=newest)


def outside_of(root: RootRecord, index: IdIndex, loaded: set[str]) -> Outside:
    """What a partial account holding the workspaces `loaded` knows of the others."""
    others = [w for w in root.workspace_order if w not in loaded]
    return Outside(
        workspace_order=tuple(root.workspace_order),
        workspace_ids=frozenset(others),
        entity_ids=frozenset(entity for w in others for entity in index.homes.get(w, ())),
        newest_created_at=index.newest_created_at,
    )


def workspace_records(account: Account) -> dict[str, WorkspaceRecord]:
    """Splits the account into one record per workspace, in display order."""
    records = {
        w.id: WorkspaceRecord(workspace=w, node_positions=account.node_positions.get(w.id, {}))
        for w in account.workspaces
    }
    for kb in account.knowledge_bases:
        records[kb.workspace_id].knowledge_bases.append(kb)
    for agent in account.agents:
        records[agent.workspace_id].agents.append(agent)
    for connection in account.connections:
        records[connection.workspace_id].connections.append(connection)
    return records


def assemble(user_id: str, root: RootRecord, records: list[WorkspaceRecord]) -> Account:
    """Joins the items back into one account. Lists come out in creation order across workspaces."""

    account = Account(
        user_id=user_id,
        profile=root.profile,
        schema_version=root.schema_version,
        groups=list(root.groups),
        workspaces=[r.workspace for r in records],
        knowledge_bases=[kb for r in records for kb in r.knowledge_bases],
        agents=[a for r in records for a in r.agents],
        connections=[c for r in records for c in r.connections],
        node_positions={r.workspace.id: dict(r.node_positions) for r in records if r.node_positions},
        setup=root.setup,
        agent_deletions=list(root.agent_deletions),
        initialized=root.initialized,
        touched=root.touched,
    )
    account.sort_by_creation()
    return account
