"""The one registry of commands: each command class to the one function that applies it.

Adding a mutation is one contract class (in its route's union), one applier and one line here;
`register` ties the two with a type variable, so mypy refuses an applier of another command, and
tests/unit/test_commands.py checks every class of every union has its applier."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ciq.contracts import mutations as m
from ciq.contracts import setup_status as s
from ciq.domain import events as e
from ciq.domain import mutations, onboarding
from ciq.domain.reach import Reach

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ciq.domain.account import Account
    from ciq.domain.context import Context
    from ciq.domain.events import DomainEvent
    from ciq.domain.mutations import Result

C = TypeVar("C", bound=m.Command)


class Appliers:
    """`dict[type[Command], Applier]`, filled only through `register`, which mypy checks; `event`
    names the domain event a command records (built from its result's `id`), when it has one;
    `reach` the part of the account it needs (ciq.domain.reach), when not all of it."""

    def __init__(self) -> None:
        self._by_class: dict[type[m.Command], Callable[[Account, Context, Any], Result]] = {}
        self._events: dict[type[m.Command], type[DomainEvent]] = {}
        self._reaches: dict[type[m.Command], Callable[[Any], Reach]] = {}

    def register(
        self,
        command: type[C],
        applier: Callable[[Account, Context, C], Result],
        event: type[DomainEvent] | None = None,
        *,
        reach: Callable[[C], Reach] | None = None,
    ) -> None:
        if command in self._by_class:
            raise ValueError(f"{command.__name__} already has an applier")
        self._by_class[command] = applier
        if event is not None:
            self._events[command] = event
        if reach is not None:
            self._reaches[command] = reach

    def reach(self, commands: Sequence[m.Command]) -> Reach | None:
        """What the commands need together; None: the whole account (a command without a reach)."""
        needed = Reach()
        for command in commands:
            reach = self._reaches.get(type(command))
            if reach is None:
                return None
            needed |= reach(command)
        return needed

    def apply(self, account: Account, ctx: Context, command: m.Command) -> Result:
        return self._by_class[type(command)](account, ctx, command)

    def event_of(self, command: m.Command, result: Result) -> DomainEvent | None:
        event = self._events.get(type(command))
        return None if event is None else event(entity_id=result.get("id"))

    def registered(self) -> frozenset[type[m.Command]]:
        return frozenset(self._by_class)


APPLIERS = Appliers()
ROOT_ONLY = Reach()
# /api/user-data (and /api/live-agents, whose bodies are agent.create and agent.update). Without a
# `reach`, a command needs the whole account: it changes the workspace order, acts across
# workspaces (group.delete), or changes nodePositions (a minimal answer sends them whole).
APPLIERS.register(m.ProfileUpdate, mutations.profile_update, reach=lambda c: ROOT_ONLY)
APPLIERS.register(m.GroupCreate, mutations.group_create, reach=lambda c: ROOT_ONLY)
APPLIERS.register(m.GroupUpdate, mutations.group_update, reach=lambda c: ROOT_ONLY)
APPLIERS.register(m.GroupDelete, mutations.group_delete)
APPLIERS.register(m.WorkspaceCreate, mutations.workspace_create, e.WorkspaceCreated)
APPLIERS.register(
    m.WorkspaceUpdate,
    mutations.workspace_update,
    reach=lambda c: Reach.of(workspaces=(c.workspace_id,), entities=(c.default_kb_id, c.default_agent_id)),
)
APPLIERS.register(m.WorkspaceDuplicate, mutations.workspace_duplicate, e.WorkspaceCreated)
APPLIERS.register(m.WorkspaceDelete, mutations.workspace_delete)
APPLIERS.register(m.WorkspaceReorder, mutations.workspace_reorder)
APPLIERS.register(
    m.KnowledgeBaseCreate,
    mutations.knowledge_base_create,
    e.KnowledgeBaseCreated,
    reach=lambda c: Reach.of(workspaces=(c.workspace_id,)),
)
APPLIERS.register(
    m.KnowledgeBaseUpdate,
    mutations.knowledge_base_update,
    e.KnowledgeBaseUpdated,
    reach=lambda c: Reach.of(entities=(c.knowledge_base_id,)),
)
APPLIERS.register(
    m.KnowledgeBaseDelete,
    mutations.knowledge_base_delete,
    e.KnowledgeBaseDeleted,
    reach=lambda c: Reach.of(entities=(c.knowledge_base_id,)),
)
APPLIERS.register(
    m.AgentCreate,
    mutations.agent_create,
    reach=lambda c: Reach.of(workspaces=(c.workspace_id,), entities=(c.knowledge_base_id,)),
)
APPLIERS.register(
    m.AgentUpdate,
    mutations.agent_update,
    reach=lambda c: Reach.of(entities=(c.agent_id, c.knowledge_base_id)),
)
APPLIERS.register(m.AgentDelete, mutations.agent_delete, reach=lambda c: Reach.of(entities=(c.agent_id,)))
APPLIERS.register(
    m.ConnectionCreate,
    mutations.connection_create,
    e.ConnectionAdded,
    reach=lambda c: Reach.of(workspaces=(c.workspace_id,), entities=(c.agent_id, c.knowledge_base_id)),
)
APPLIERS.register(
    m.ConnectionUpdate,
    mutations.connection_update,
    reach=lambda c: Reach.of(entities=(c.connection_id, c.agent_id, c.knowledge_base_id)),
)
APPLIERS.register(
    m.ConnectionDelete,
    mutations.connection_delete,
    e.ConnectionRemoved,
    reach=lambda c: Reach.of(entities=(c.connection_id,)),
)
APPLIERS.register(m.NodePositionsSet, mutations.node_positions_set)
# /api/setup-status: its answer is the setup status, computed from the whole account
APPLIERS.register(s.SelectChannelTypes, onboarding.select_channel_types)
APPLIERS.register(s.AddConnection, onboarding.add_connection, e.ConnectionAdded)
APPLIERS.register(s.UpdateConnection, onboarding.update_connection)
APPLIERS.register(s.RemoveConnection, onboarding.remove_connection, e.ConnectionRemoved)
APPLIERS.register(s.SetPersistentlyHidden, onboarding.set_persistently_hidden)
APPLIERS.register(s.DismissForSession, onboarding.dismiss_for_session)
APPLIERS.register(s.RestoreGetStarted, onboarding.restore_get_started)
APPLIERS.register(s.CompleteOnboarding, onboarding.complete_onboarding, e.OnboardingCompleted)
