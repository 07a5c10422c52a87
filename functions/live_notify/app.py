"""Live updates, the server's side (docs/api/live-updates.md): fed by the data table's DynamoDB
Stream (filtered to account root items), sends `{"type":"changed","version":n}` to every open
connection of each changed account's user, and deletes the connections API Gateway says are gone."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from ciq.metrics import flushed
from ciq.services import live
from ciq.settings import get_settings
from ciq.store import live_store, socket_api
from ciq.store.adapters import DynamoLiveStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
store = DynamoLiveStore()  # the connections' port (ciq.ports.LiveStore), once per sandbox


@flushed
@logger.inject_lambda_context(log_event=False)  # records hold account data (NEW_IMAGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    changes = live_store.root_changes(event.get("Records") or [])
    deliveries = live.notify(store, changes, partial(socket_api.post, get_settings().live_socket_endpoint))
    counts = {"sent": deliveries.sent, "gone": deliveries.gone, "failed": deliveries.failed}
    logger.info("live notices", extra={"accounts": len(changes), **counts})
    return {}
