"""Sending to a WebSocket connection of API Gateway (the `@connections` management API)."""

from __future__ import annotations

import logging

from ciq.ports import Delivery
from ciq.store.clients import botocore_error, client_error, socket_management

__all__ = ["Delivery", "post"]
_log = logging.getLogger(__name__)


def post(endpoint: str, connection_id: str, data: bytes) -> Delivery:
    """"gone": the connection no longer exists (410), so its items can go; "failed": anything else
    (throttled, unavailable), logged; the client catches up on its next notice or reconnect."""
    try:
        socket_management(endpoint).post_to_connection(ConnectionId=connection_id, Data=data)
    except client_error() as error:
        if error.response["Error"]["Code"] == "GoneException":
            return "gone"
        _log.warning("live notice not delivered", extra={"aws_error_code": error.response["Error"]["Code"]})
        return "failed"
    except botocore_error():
        _log.warning("live notice not delivered: the management API is unreachable")
        return "failed"
    return "sent"
