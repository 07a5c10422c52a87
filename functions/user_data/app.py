"""/api/user-data: GET the caller's data, POST mutations, PUT a whole-document import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from ciq.contracts.base import BODY_MAX_BYTES, IMPORT_BODY_MAX_BYTES
from ciq.errors import (
    AgentNotReady,
    AggregateTooLarge,
    IdTaken,
    ImportRefused,
    InvariantViolation,
    NotFound,
    UnknownMutation,
    ValidationFailed,
)
from ciq.metrics import flushed
from ciq.services import user_data
from ciq.store.unit_of_work import DynamoUnitOfWork
from ciq.web import render, spliced
from ciq.web.api import Api, written_response
from ciq.web.conditional import conditional_read, conditional_response
from ciq.web.preconditions import parse_since, write_request
from ciq.web.request import header, identity, json_object, prefers_minimal

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

PATH = "/api/user-data"
logger = Logger()
api = Api(logger)
store = DynamoUnitOfWork()


@api.route(
    "GET",
    PATH,
    summary="The caller's data, or what changed after a version",
    description=(
        "`?since=<version>` answers a `UserDataDelta` (the changed workspaces with their children, "
        "the root fields, the workspace order) or `{full: true, version}` when only a full read can "
        "answer (docs/api/user-data.md, Delta reads). A since that is not a version number is 422."
    ),
    answers={200: "UserDataAnswer"},
    errors=(ValidationFailed,),
    versioned=True,
    query=("since",),
)
def read() -> Response[str]:
    event = api.event()
    user_id = identity(event).user_id
    since = parse_since(event.get("queryStringParameters"))
    if since is not None:  # a delta read (docs/api/user-data.md "Delta reads")
        return conditional_read(
            event,
            lambda holds: user_data.held_version(store, user_id, holds),
            lambda: user_data.read_since(store, user_id, since),
            render.since_answer,
        )
    accept_encoding = header(event, "Accept-Encoding")
    return conditional_response(
        event,
        lambda holds: user_data.held_version(store, user_id, holds),
        lambda: user_data.read(store, user_id),
        lambda answer, version: spliced.data_response(answer, version, accept_encoding),
    )


@api.route(
    "POST",
    PATH,
    summary="Apply one mutation, or a batch atomically",
    body="UserDataMutationRequest",
    answers={200: "UserDataMutationAnswer"},
    errors=(UnknownMutation, NotFound, InvariantViolation, AgentNotReady, IdTaken, AggregateTooLarge),
    versioned=True,
    writes=True,
    minimal_answer="UserDataMinimalAnswer",
)
def mutate() -> Response[str]:
    event = api.event()
    payload = json_object(event, BODY_MAX_BYTES)
    request = write_request(event, "POST", PATH, payload)
    written = user_data.mutate(store, request, payload, render.data_answer, minimal=prefers_minimal(event))
    return written_response(written, render.data_answer)


@api.route(
    "PUT",
    PATH,
    summary="Import a whole document (the one-time local-to-server migration)",
    description=(
        "Allowed while the account is untouched (no accepted write since the defaults), or with an "
        "If-Match naming the current version (`*` is no condition); otherwise 409 import_refused."
    ),
    body="ImportRequest",
    answers={200: "UserDataAnswer"},
    errors=(ImportRefused, AggregateTooLarge),
    versioned=True,
    minimal_answer="UserDataMinimalAnswer",
    writes=True,
)
def import_document() -> Response[str]:
    event = api.event()
    payload = json_object(event, IMPORT_BODY_MAX_BYTES)
    request = write_request(event, "PUT", PATH, payload)
    minimal = prefers_minimal(event)
    written = user_data.import_document(store, request, payload, render.data_answer, minimal=minimal)
    return written_response(written, render.data_answer)


@flushed
# log_event stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the session
# token (Cookie, Authorization) and the body personal data.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
