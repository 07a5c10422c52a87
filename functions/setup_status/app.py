"""/api/setup-status: GET the caller's Get Started status, PATCH it with one lifecycle mutation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from ciq.contracts.base import BODY_MAX_BYTES
from ciq.errors import AggregateTooLarge, InvariantViolation, NotFound, UnknownMutation
from ciq.metrics import flushed
from ciq.services import setup_status
from ciq.store.unit_of_work import DynamoUnitOfWork
from ciq.web import render
from ciq.web.api import Api, written_response
from ciq.web.conditional import conditional_read
from ciq.web.preconditions import write_request
from ciq.web.request import identity, json_object

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

PATH = "/api/setup-status"
logger = Logger()
api = Api(logger)
store = DynamoUnitOfWork()


@api.route("GET", PATH, summary="The Get Started status", answers={200: "SetupStatus"}, versioned=True)
def read() -> Response[str]:
    event = api.event()
    caller = identity(event)
    return conditional_read(
        event,
        lambda holds: setup_status.held_version(store, caller.user_id, holds),
        lambda: setup_status.read(store, caller.user_id, caller.session_id),
        render.setup_status,
    )


@api.route(
    "PATCH",
    PATH,
    summary="Apply one Get Started mutation",
    body="SetupStatusMutationRequest",
    answers={200: "SetupStatus"},
    errors=(UnknownMutation, NotFound, InvariantViolation, AggregateTooLarge),
    versioned=True,
    writes=True,
)
def mutate() -> Response[str]:
    event = api.event()
    payload = json_object(event, BODY_MAX_BYTES)
    request = write_request(event, "PATCH", PATH, payload)
    written = setup_status.mutate(store, request, payload, render.setup_status)
    return written_response(written, render.setup_status)


@flushed
# log_event stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the session
# token (Cookie, Authorization) and the body personal data.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
