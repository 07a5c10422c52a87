"""Who hears about a change (cosmicpython's bootstrap, in small): the aggregate's watchers, which run
inside the change before it is stored, and the handlers of domain events, which run once it is
stored. The write flow (ciq.services.writes) calls `committed` and names no feature itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq import audit
from ciq.domain import aggregate
from ciq.live_agents.tracking import watch_agents

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ciq.domain.events import DomainEvent

# Before commit: an agent the change touched becomes `pending` for the live-agents service.
aggregate.watch(watch_agents)


def committed(user_id: str, session_id: str | None, events: Iterable[DomainEvent]) -> None:
    """After commit (never for a replay): audit records and business metrics."""
    for event in events:
        audit.committed(user_id, session_id, event)
