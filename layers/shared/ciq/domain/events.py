"""Domain events: what a committed change did, in the domain's words. The aggregate records them
(ciq.domain.aggregate); the write flow hands them, once the change is stored, to whoever subscribed
(audit and metrics: ciq.services.subscribers). A replayed answer records none."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DomainEvent:
    entity_id: str | None = None  # the entity the change created, changed or removed, when one


class WorkspaceCreated(DomainEvent):
    pass


class KnowledgeBaseCreated(DomainEvent):
    pass


class KnowledgeBaseUpdated(DomainEvent):
    pass


class KnowledgeBaseDeleted(DomainEvent):
    pass


class ConnectionAdded(DomainEvent):
    pass


class ConnectionRemoved(DomainEvent):
    pass


class OnboardingCompleted(DomainEvent):
    pass


class DataImported(DomainEvent):
    pass
