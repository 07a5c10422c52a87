"""The in-memory account every rule works on: the user's UserData plus the root facts kept beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ciq.contracts.entities import (
    SCHEMA_VERSION,
    Agent,
    Connection,
    Family,
    Group,
    KnowledgeBase,
    NodePosition,
    Profile,
    UserData,
    Workspace,
)
from ciq.domain.reach import OutOfReach
from ciq.errors import Detail, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ciq.contracts.imports import ImportDocument
    from ciq.contracts.mutations import Command
    from ciq.domain.context import Context
    from ciq.domain.events import DomainEvent
    from ciq.domain.reach import Outside

_T = TypeVar("_T")
_Entity = TypeVar("_Entity", Workspace, KnowledgeBase, Agent, Connection, Group)

MAX_REMEMBERED_DISMISSALS = 50


class SetupState(BaseModel):
    """Stored onboarding facts (CONTRACT §9 "Setup status"); everything else about it is derived."""

    model_config = ConfigDict(extra="ignore")

    selected_channel_types: list[Family] = []
    onboarding_complete: bool = False
    persistently_hidden: bool = False
    dismissed_sessions: list[str] = Field(default_factory=list)


@dataclass
class Account:
    user_id: str
    profile: Profile
    schema_version: int = SCHEMA_VERSION
    groups: list[Group] = field(default_factory=list)
    workspaces: list[Workspace] = field(default_factory=list)
    knowledge_bases: list[KnowledgeBase] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    node_positions: dict[str, dict[str, NodePosition]] = field(default_factory=dict)
    setup: SetupState = field(default_factory=SetupState)
    # Ids of deleted agents the live-agents service may still hold: deleted there on a later sync.
    agent_deletions: list[str] = field(default_factory=list)
    # False until the defaults exist (a verified sign-up stores only the profile).
    initialized: bool = False
    # True once any user write was accepted: ends the "untouched defaults" state of PUT import.
    touched: bool = False
    # What the changes of this write did (ciq.domain.events); never stored.
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)
    # Set on a partial account (only some workspaces loaded, ciq.domain.reach): the rest, by id.
    outside: Outside | None = field(default=None, compare=False, repr=False)

    # -- changes: the only ways to change an account in a write (rules in ciq.domain.aggregate) -----
    def apply(self, ctx: Context, command: Command) -> dict[str, Any]:
        """Applies one command; returns its result entry `{type, id, ...}`."""
        from ciq.domain import aggregate  # noqa: PLC0415 - aggregate imports this module

        return aggregate.apply(self, ctx, [command], batch=False)[0]

    def apply_batch(self, ctx: Context, commands: Sequence[Command]) -> list[dict[str, Any]]:
        """Applies a batch atomically; an error points at `/mutations/{index}`."""
        from ciq.domain import aggregate  # noqa: PLC0415

        return aggregate.apply(self, ctx, commands, batch=True)

    def import_document(self, ctx: Context, document: ImportDocument, *, pinned: bool) -> None:
        from ciq.domain import aggregate  # noqa: PLC0415

        aggregate.import_document(self, ctx, document, pinned=pinned)

    def record(self, edit: Callable[[], _T]) -> _T:
        """A change the server makes on its own (live-agents sync bookkeeping)."""
        from ciq.domain import aggregate  # noqa: PLC0415

        return aggregate.record(self, edit)

    # -- lookups: an id that is not in this account is 404, whoever owns it elsewhere ----------------
    def workspace(self, workspace_id: str, pointer: str = "/workspaceId") -> Workspace:
        return self._find(self.workspaces, workspace_id, "workspace", pointer)

    def knowledge_base(self, kb_id: str, pointer: str = "/knowledgeBaseId") -> KnowledgeBase:
        return self._find(self.knowledge_bases, kb_id, "knowledge base", pointer)

    def agent(self, agent_id: str, pointer: str = "/agentId") -> Agent:
        return self._find(self.agents, agent_id, "agent", pointer)

    def connection(self, connection_id: str, pointer: str = "/connectionId") -> Connection:
        return self._find(self.connections, connection_id, "connection", pointer)

    def group(self, group_id: str, pointer: str = "/groupId") -> Group:
        return self._find(self.groups, group_id, "group", pointer)

    def kbs_of(self, workspace_id: str) -> list[KnowledgeBase]:
        return [kb for kb in self.knowledge_bases if kb.workspace_id == workspace_id]

    def agents_of(self, workspace_id: str) -> list[Agent]:
        return [a for a in self.agents if a.workspace_id == workspace_id]

    def agents_on_kb(self, kb_id: str) -> list[Agent]:
        return [a for a in self.agents if a.knowledge_base_id == kb_id]

    def connections_of(self, workspace_id: str) -> list[Connection]:
        return [c for c in self.connections if c.workspace_id == workspace_id]

    def connections_of_agent(self, agent_id: str) -> list[Connection]:
        return [c for c in self.connections if c.agent_id == agent_id]

    def all_ids(self) -> set[str]:
        ids = {g.id for g in self.groups}
        for items in (self.workspaces, self.knowledge_bases, self.agents, self.connections):
            ids.update(item.id for item in items)
        if self.outside is not None:
            ids |= self.outside.workspace_ids | self.outside.entity_ids
        return ids

    def _find(self, items: list[_Entity], item_id: str, what: str, pointer: str) -> _Entity:
        for item in items:
            if item.id == item_id:
                return item
        if self.outside is not None and self.outside.holds(item_id):
            raise OutOfReach(f"{what} {item_id!r} is in a workspace that was not loaded")
        message = f"{what} {item_id!r} not found"
        raise NotFound(message, [Detail(pointer, "not_found", message)])

    def sort_by_creation(self) -> None:
        """KBs, agents and connections in creation order (CONTRACT §9), ties in workspace order:
        exactly the order the store reads them back in, so that a write answers what a read returns
        (an import may list entities in any order; a batch may reorder workspaces it just created)."""
        position = {w.id: i for i, w in enumerate(self.workspaces)}

        def key(item: KnowledgeBase | Agent | Connection) -> tuple[str, int]:
            return item.created_at, position.get(item.workspace_id, len(position))

        self.knowledge_bases.sort(key=key)
        self.agents.sort(key=key)
        self.connections.sort(key=key)

    def to_user_data(self) -> UserData:
        return UserData(
            schema_version=self.schema_version,
            profile=self.profile,
            groups=self.groups,
            workspaces=self.workspaces,
            knowledge_bases=self.knowledge_bases,
            agents=self.agents,
            connections=self.connections,
            node_positions=self.node_positions,
        )
