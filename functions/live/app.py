"""Live updates, the client's side (docs/api/live-updates.md): `POST /api/live/ticket` (REST, behind
the session authorizer) issues a single-use ticket; the WebSocket API's `$connect` takes it and
records the connection under its user, `$disconnect` forgets it, `$default` (a client's keep-alive
message) is accepted and ignored. API Gateway sends both kinds of event here; WebSocket events carry
`requestContext.eventType`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from ciq.errors import AppError
from ciq.metrics import flushed
from ciq.services import live
from ciq.store.adapters import DynamoLiveStore
from ciq.web.api import Api, json_response
from ciq.web.request import identity

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

PATH = "/api/live/ticket"
logger = Logger()
api = Api(logger)
store = DynamoLiveStore()  # the tickets' and connections' port (ciq.ports.LiveStore), once per sandbox


@api.route(
    "POST",
    PATH,
    summary="A single-use ticket that opens one live-updates WebSocket connection within 60 s",
    description="Send no body (or `{}`); the answer names the WebSocket `url` to open with `?ticket=`.",
    answers={201: "LiveTicket"},
)
def ticket() -> Response[str]:
    # The ticket is a credential for 60 s: never cached.
    issued = live.issue_ticket(store, identity(api.event()).user_id)
    return json_response(201, issued, {"Cache-Control": "no-store"})


def socket_event(event: dict[str, Any]) -> dict[str, Any]:
    """A WebSocket route: `$connect` 200 accepts, 401 refuses (no ticket of ours), 503 on an outage."""
    context = event["requestContext"]
    connection_id = str(context["connectionId"])
    try:
        if context["eventType"] == "CONNECT":
            ticket = (event.get("queryStringParameters") or {}).get("ticket")
            live.open_connection(store, ticket, connection_id)
        elif context["eventType"] == "DISCONNECT":
            live.close_connection(store, connection_id)
    except AppError as error:
        logger.info("live connection refused", extra={"code": error.code})
        return {"statusCode": error.status}
    return {"statusCode": 200}


@flushed
# log_event stays off: a $connect event carries the ticket, a REST event the session token.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "eventType" in (event.get("requestContext") or {}):
        return socket_event(event)
    return api.handle(event, context)
