"""The local run calls handlers one invocation at a time per process (local/functions.py): the
authorizer and the WebSocket functions wait for a running invocation, as the routes' handlers do
(tests/http/test_local_concurrency.py proves it for those over HTTP)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from local.authorizer import authorize
from local.functions import ONE_INVOCATION_AT_A_TIME
from local.live import LocalLiveChannel
from tests.unit.test_local_gateway_parts import API, AUTHORIZER, MATCH, loaded, request

if TYPE_CHECKING:
    from collections.abc import Callable


def enters_only_after_the_running_invocation(call: Callable[[Callable[..., Any]], object]) -> None:
    entered = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        entered.set()
        return {"statusCode": 200}

    # Given an invocation running (the lock held)
    with ONE_INVOCATION_AT_A_TIME:
        # When another handler is called from another thread
        worker = threading.Thread(target=call, args=(handler,), daemon=True)
        worker.start()
        # Then it does not enter while the first one runs
        assert not entered.wait(0.3)
    # And it runs once the first one is over
    worker.join(5)
    assert entered.is_set()


def test_the_authorizer_waits_for_a_running_invocation() -> None:
    def decide(handler: Callable[..., Any]) -> object:
        return authorize(AUTHORIZER, loaded(handler), request(), match=MATCH, api=API, region="us-east-1")

    enters_only_after_the_running_invocation(decide)


def test_a_websocket_function_waits_for_a_running_invocation() -> None:
    def connect(handler: Callable[..., Any]) -> object:
        channel = LocalLiveChannel.__new__(LocalLiveChannel)  # its socket and loop are not needed here
        channel.region, channel._function = "us-east-1", loaded(handler)
        return channel._invoke({"requestContext": {"eventType": "CONNECT"}})

    enters_only_after_the_running_invocation(connect)
