"""Requests of /api/live-agents (docs/api/live-agents.md). The bodies are the `agent.create` and
`agent.update` mutations of /api/user-data without `type` (and, for PATCH, with `agentId` taken from
the path), validated by the very same models: one set of agent rules."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from ciq.contracts.base import IMPORTED_ID_PATTERN
from ciq.contracts.mutations import AgentCreate, AgentUpdate
from ciq.errors import Detail, NotFound, invalid, validation_failed

QUERY_FIELDS = frozenset({"workspaceId"})
_ID = re.compile(IMPORTED_ID_PATTERN)


def parse_create(payload: Any) -> AgentCreate:
    body = _object(payload, forbidden=("type",))
    try:
        return AgentCreate.model_validate({**body, "type": "agent.create"})
    except ValidationError as error:
        raise validation_failed(error) from None


def parse_update(payload: Any, agent_id: str) -> AgentUpdate:
    body = _object(payload, forbidden=("type", "agentId"))
    try:
        return AgentUpdate.model_validate({**body, "type": "agent.update", "agentId": agent_id})
    except ValidationError as error:
        raise validation_failed(error) from None


def path_agent_id(value: str | None) -> str:
    """The `{agentId}` of the path: an id that cannot exist is simply not found."""
    if value is None or not _ID.fullmatch(value):
        message = f"agent {value!r} not found"
        raise NotFound(message, [Detail("/agentId", "not_found", message)])
    return value


def parse_query(query: dict[str, str] | None) -> str | None:
    """The optional `workspaceId` filter of GET; any other parameter is a 422."""
    query = query or {}
    for name in sorted(set(query) - QUERY_FIELDS):
        raise invalid(
            f"/{name}", f"unknown query parameter {name!r}; only workspaceId is accepted", "extra_forbidden"
        )
    return query.get("workspaceId")


def _object(payload: Any, *, forbidden: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise invalid("", "the body must be a JSON object", "type")
    for name in forbidden:
        if name in payload:
            where = "is the path's {agentId}" if name == "agentId" else "is implied by the route"
            raise invalid(f"/{name}", f"{name} is not accepted in the body: it {where}", "extra_forbidden")
    return payload
