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

if TYPE_CHECKING:
    from collections.abc import Callable

    from ciq.domain.account import Account
    from ciq.domain.context import Context
    from ciq.domain.events import DomainEvent
    from ciq.domain.mutations import Result

C = TypeVar("C", bound=m.Command)


class Appliers:
    """`dict[type[Command], Applier]`, filled only through `register`, which mypy checks; `event`
    names the domain event a command records (built from its result's `id`), when it has one."""

    def __init__(self) -> None:
        self._by_class: dict[type[m.Command], Callable[[Account, Context, Any], Result]] = {}
        self._events: dict[type[m.Command], type[DomainEvent]] = {}

    def register(
        self,
        command: type[C],
        applier: Callable[[Account, Context, C], Result],
        event: type[DomainEvent] | None = None,
    ) -> None:
        if command in self._by_class:
            raise ValueError(f"{command.__name__} already has an applier")
        self._by_class[command] = applier
        if event is not None:
            self._events[command] = event

    def apply(self, account: Account, ctx: Context, command: m.Command) -> Result:
        return self._by_class[type(command)](account, ctx, command)

    def event_of(self, command: m.Command, result: Result) -> DomainEvent | None:
        event = self._events.get(type(command))
        return None if event is None else event(entity_id=result.get("id"))

    def registered(self) -> frozenset[type[m.Command]]:
        return frozenset(self._by_class)


APPLIERS = Appliers()
# /api/user-data (and /api/live-agents, whose bodies are agent.create and agent.update)
APPLIERS.register(m.ProfileUpdate, mutations.profile_update)
APPLIERS.register(m.GroupCreate, mutations.group_create)
APPLIERS.register(m.GroupUpdate, mutations.group_update)
APPLIERS.register(m.GroupDelete, mutations.group_delete)
APPLIERS.register(m.WorkspaceCreate, mutations.workspace_create, e.WorkspaceCreated)
APPLIERS.register(m.WorkspaceUpdate, mutations.workspace_update)
APPLIERS.register(m.WorkspaceDuplicate, mutations.workspace_duplicate, e.WorkspaceCreated)
APPLIERS.register(m.WorkspaceDelete, mutations.workspace_delete)
APPLIERS.register(m.WorkspaceReorder, mutations.workspace_reorder)
APPLIERS.register(m.KnowledgeBaseCreate, mutations.knowledge_base_create, e.KnowledgeBaseCreated)
APPLIERS.register(m.KnowledgeBaseUpdate, mutations.knowledge_base_update, e.KnowledgeBaseUpdated)
APPLIERS.register(m.KnowledgeBaseDelete, mutations.knowledge_base_delete, e.KnowledgeBaseDeleted)
APPLIERS.register(m.AgentCreate, mutations.agent_create)
APPLIERS.register(m.AgentUpdate, mutations.agent_update)
APPLIERS.register(m.AgentDelete, mutations.agent_delete)
APPLIERS.register(m.ConnectionCreate, mutations.connection_create, e.ConnectionAdded)
APPLIERS.register(m.ConnectionUpdate, mutations.connection_update)
APPLIERS.register(m.ConnectionDelete, mutations.connection_delete, e.ConnectionRemoved)
APPLIERS.register(m.NodePositionsSet, mutations.node_positions_set)
# /api/setup-status
APPLIERS.register(s.SelectChannelTypes, onboarding.select_channel_types)
APPLIERS.register(s.AddConnection, onboarding.add_connection, e.ConnectionAdded)
APPLIERS.register(s.UpdateConnection, onboarding.update_connection)
APPLIERS.register(s.RemoveConnection, onboarding.remove_connection, e.ConnectionRemoved)
APPLIERS.register(s.SetPersistentlyHidden, onboarding.set_persistently_hidden)
APPLIERS.register(s.DismissForSession, onboarding.dismiss_for_session)
APPLIERS.register(s.RestoreGetStarted, onboarding.restore_get_started)
APPLIERS.register(s.CompleteOnboarding, onboarding.complete_onboarding, e.OnboardingCompleted)

