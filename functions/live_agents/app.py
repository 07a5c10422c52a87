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
from ciq.services.writes import idempotency_request, parse_if_match
from ciq.web.api import Api, written_response
from ciq.web.conditional import conditional_read
from ciq.web.request import header, identity, json_object, raw_body

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

PATH = "/api/live-agents"
AGENT_PATH = "/api/live-agents/{agentId}"
logger = Logger()
api = Api(logger)


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
        lambda holds: live_agents.held_version(user_id, query, holds),
        lambda: live_agents.list_agents(user_id, query),
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
    outcome = live_agents.create(
        identity(event).user_id,
        payload,
        if_match=parse_if_match(header(event, "If-Match")),
        idem=idempotency_request(header(event, "Idempotency-Key"), "POST", PATH, payload),
    )
    return written_response(outcome)


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
    outcome = live_agents.update(
        identity(event).user_id,
        agent_id,
        payload,
        if_match=parse_if_match(header(event, "If-Match")),
        idem=idempotency_request(header(event, "Idempotency-Key"), "PATCH", f"{PATH}/{agent_id}", payload),
    )
    return written_response(outcome)


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
    outcome = live_agents.delete(
        identity(event).user_id,
        agent_id,
        if_match=parse_if_match(header(event, "If-Match")),
        idem=idempotency_request(header(event, "Idempotency-Key"), "DELETE", f"{PATH}/{agent_id}", None),
    )
    return written_response(outcome)


def _agent_id(event: dict[str, Any]) -> str:
    return str((event.get("pathParameters") or {}).get("agentId") or "")


# log_event stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the session
# token (Cookie, Authorization) and the body personal data.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
