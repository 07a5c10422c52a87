"""The live-updates channel of the local run (docs/api/live-updates.md, "In the local run"):

- a WebSocket server on 127.0.0.1 (its own port: `ws://localhost:<port>`, the `url` a ticket
  names) that hands each opening handshake, message and close to the function the template's
  WebSocket integration names, as API Gateway's `$connect`, `$default` and `$disconnect` events;
  a `$connect` answer other than 200 refuses the handshake with that status;
- an in-process change feed: the store announces every committed account write
  (`ciq.store.commits`), and a notifier thread sends the notices with the same
  `ciq.services.live.notify` the stream-fed function runs on AWS, posting to the open sockets.

The server runs its own asyncio loop in a daemon thread; the functions are called in worker
threads, never on the loop."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import socket
import threading
import time
import uuid
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from local.config import HOST
from local.events import lambda_context
from local.functions import ONE_INVOCATION_AT_A_TIME
from local.server import log

if TYPE_CHECKING:
    from websockets.asyncio.server import Server, ServerConnection
    from websockets.http11 import Request, Response

    from local.functions import LoadedFunction

_CONNECTION_IDS = itertools.count(1)


class LocalLiveChannel:
    """Bind first (`reserve`), so the URL is known before any function reads its settings; `start`
    once the functions are loaded."""

    def __init__(self, region: str, stage: str) -> None:
        self.region = region
        self.stage = stage
        self._socket = socket.create_server((HOST, 0))
        self._function: LoadedFunction | None = None
        self._loop = asyncio.new_event_loop()
        self._open: dict[str, ServerConnection] = {}  # connection id -> socket
        self._ids: dict[uuid.UUID, str] = {}  # websockets' connection -> our connection id
        self._changes: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://localhost:{self.port}"

    def start(self, function: LoadedFunction) -> None:
        from ciq.store import commits  # the layer is on sys.path once the functions are loaded

        self._function = function
        started = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve, args=(started,), name="live-socket", daemon=True),
            threading.Thread(target=self._notify_forever, name="live-notify", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        started.wait(10)
        commits.subscribe(self.committed)

    def committed(self, user_id: str, version: int) -> None:
        """The commit listener: never blocks the write that calls it. With no socket open nobody can be
        told, so nothing is queued: a run without live clients makes no extra store reads (stale
        connection items of an earlier run expire by TTL)."""
        if self._open:
            self._changes.put((user_id, version))

    def stop(self) -> None:
        from ciq.store import commits

        commits.unsubscribe(self.committed)
        self._changes.put(None)
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        for thread in self._threads:
            thread.join(5)
        with contextlib.suppress(OSError):
            self._socket.close()

    # -- the socket side ---------------------------------------------------------------------------

    def _serve(self, started: threading.Event) -> None:
        from websockets.asyncio.server import serve

        async def main() -> None:
            async with serve(self._session, sock=self._socket, process_request=self._connect) as server:
                self._server = server
                started.set()
                await server.wait_closed()

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(main())

    async def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = f"local{next(_CONNECTION_IDS)}-{uuid.uuid4().hex[:8]}="
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        headers = dict(request.headers.raw_items())
        event = self._event("$connect", "CONNECT", connection_id, headers=headers, query=query or None)
        status = await asyncio.to_thread(self._invoke, event)
        if status != HTTPStatus.OK:
            return connection.respond(HTTPStatus(status), f"{HTTPStatus(status).phrase}\n")
        self._ids[connection.id] = connection_id
        self._open[connection_id] = connection
        return None

    async def _session(self, connection: ServerConnection) -> None:
        connection_id = self._ids.pop(connection.id)
        try:
            async for message in connection:
                body = message if isinstance(message, str) else message.decode(errors="replace")
                event = self._event("$default", "MESSAGE", connection_id, body=body)
                await asyncio.to_thread(self._invoke, event)
        finally:
            self._open.pop(connection_id, None)
            await asyncio.to_thread(self._invoke, self._event("$disconnect", "DISCONNECT", connection_id))

    def _invoke(self, event: dict[str, Any]) -> int:
        assert self._function is not None and self._function.handler is not None
        try:
            with ONE_INVOCATION_AT_A_TIME:  # as every handler call here (local.functions says why)
                result = self._function.handler(event, lambda_context(self._function.spec, self.region))
        except Exception:  # a crash is API Gateway's 500 on connect, and is logged by the function
            return 500
        return int((result or {}).get("statusCode", 500))

    def _event(
        self,
        route: str,
        kind: str,
        connection_id: str,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: str | None = None,
    ) -> dict[str, Any]:
        """What API Gateway sends a WebSocket route (events/live-connect.json)."""
        now = int(time.time() * 1000)
        event: dict[str, Any] = {
            "requestContext": {
                "routeKey": route,
                "eventType": kind,
                "messageDirection": "IN",
                "stage": self.stage,
                "connectedAt": now,
                "requestTimeEpoch": now,
                "identity": {"sourceIp": "127.0.0.1"},
                "requestId": uuid.uuid4().hex,
                "domainName": "localhost",
                "connectionId": connection_id,
                "apiId": "local",
            },
            "isBase64Encoded": False,
        }
        if headers is not None:
            event["headers"] = headers
            event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
        if kind == "CONNECT":
            event["queryStringParameters"] = query
        if body is not None:
            event["body"] = body
        return event

    # -- the notifier side -------------------------------------------------------------------------

    def _notify_forever(self) -> None:
        from ciq.services import live
        from ciq.store.adapters import DynamoLiveStore

        store = DynamoLiveStore()
        while (first := self._changes.get()) is not None:
            changes = {first[0]: first[1]}
            with contextlib.suppress(queue.Empty):
                while (more := self._changes.get_nowait()) is not None:  # a burst: one notice each
                    changes[more[0]] = max(more[1], changes.get(more[0], 0))
            try:
                live.notify(store, changes, self._post)
            except Exception as error:  # the feed must outlive a store outage
                log(f"live updates: a notice was not sent ({type(error).__name__})", error=True)

    def _post(self, connection_id: str, data: bytes) -> Any:
        connection = self._open.get(connection_id)
        if connection is None:
            return "gone"
        asyncio.run_coroutine_threadsafe(connection.send(data.decode()), self._loop)
        return "sent"
