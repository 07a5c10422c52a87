"""/api/live-agents: list the caller's agents (synced with the live-agents service), create, update
and delete one. See docs/api/live-agents.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from ciq.contracts.base import BODY_MAX_BYTES
from ciq.errors import (
    AgentNotReady,
    IdTaken,
    InvalidJson,
    InvariantViolation,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    invalid,
)
from ciq.services import live_agents
from ciq.store.unit_of_work import DynamoUnitOfWork
from ciq.web import render
from ciq.web.api import Api, written_response
from ciq.web.conditional import conditional_read
from ciq.web.preconditions import write_request
from ciq.web.request import identity, json_object, raw_body

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

PATH = "/api/live-agents"
AGENT_PATH = "/api/live-agents/{agentId}"
logger = Logger()
api = Api(logger)
store = DynamoUnitOfWork()


@api.route(
    "GET",
    PATH,
    summary="The caller's agents, synced with the live-agents service",
    description="`degraded: true`: the service was not (fully) reached; the stored agents are answered.",
    answers={200: "LiveAgentsList"},
    errors=(NotFound, ValidationFailed),
    versioned=True,
    query=("workspaceId",),
)
def read() -> Response[str]:
    event = api.event()
    user_id, query = identity(event).user_id, event.get("queryStringParameters")
    return conditional_read(
        event,
        lambda holds: live_agents.held_version(store, user_id, query, holds),
        lambda: live_agents.list_agents(store, user_id, query, render.agents_list),
        render.agents_list,
    )


@api.route(
    "POST",
    PATH,
    summary="Create an agent",
    body="LiveAgentCreate",
    answers={201: "LiveAgentAnswer"},
    errors=(NotFound, InvariantViolation, AgentNotReady, IdTaken),
    versioned=True,
    writes=True,
)
def create() -> Response[str]:
    event = api.event()
    payload = json_object(event, BODY_MAX_BYTES)
    request = write_request(event, "POST", PATH, payload)
    written = live_agents.create(store, request, payload, render.agent_answer)
    return written_response(written, render.agent_answer)


@api.route(
    "PATCH",
    AGENT_PATH,
    summary="Update an agent",
    body="LiveAgentUpdate",
    answers={200: "LiveAgentAnswer"},
    errors=(NotFound, InvariantViolation, AgentNotReady),
    versioned=True,
    writes=True,
)
def update(**_path: str) -> Response[str]:  # Powertools passes {agentId}; read from the event
    event = api.event()
    agent_id = _agent_id(event)
    payload = json_object(event, BODY_MAX_BYTES)
    request = write_request(event, "PATCH", f"{PATH}/{agent_id}", payload)
    written = live_agents.update(store, request, agent_id, payload, render.agent_answer)
    return written_response(written, render.agent_answer)


@api.route(
    "DELETE",
    AGENT_PATH,
    summary="Delete an agent",
    answers={200: "LiveAgentAnswer"},
    errors=(
        NotFound,
        InvariantViolation,
        InvalidJson,
        PayloadTooLarge,
        ValidationFailed,
    ),  # a body is refused
    versioned=True,
    writes=True,
)
def delete(**_path: str) -> Response[str]:  # Powertools passes {agentId}; read from the event
    event = api.event()
    agent_id = _agent_id(event)
    if raw_body(event, BODY_MAX_BYTES).strip():
        raise invalid("", "DELETE takes no body", "extra_forbidden")
    request = write_request(event, "DELETE", f"{PATH}/{agent_id}", None)
    written = live_agents.delete(store, request, agent_id, render.agent_answer)
    return written_response(written, render.agent_answer)


def _agent_id(event: dict[str, Any]) -> str:
    return str((event.get("pathParameters") or {}).get("agentId") or "")


# log_event stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the session
# token (Cookie, Authorization) and the body personal data.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
