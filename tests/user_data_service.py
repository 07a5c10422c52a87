"""GET and POST /api/user-data as functions/user_data/app.py answers them, minus Powertools' resolver:
the same request parsing, the same service call on a `DynamoUnitOfWork`, the same rendering (and an
AppError rendered as the contract's error), for the event given.

For tests that race requests from threads. On AWS concurrent requests run in separate sandboxes;
what they share, and what races, is the service's write flow on the store. A handler cannot be raced
in one process (Powertools keeps the request being handled on class attributes: tests.conftest.invoke
runs handlers one at a time), and these calls keep no per-invocation global state (ciq.budget is a
ContextVar; boto3 clients are thread-safe)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ciq import budget
from ciq.contracts.base import BODY_MAX_BYTES
from ciq.errors import AppError
from ciq.services import user_data
from ciq.store.unit_of_work import DynamoUnitOfWork
from ciq.web import render, spliced
from ciq.web.api import written_response
from ciq.web.errors import error_response
from ciq.web.preconditions import write_request
from ciq.web.request import identity, json_object, prefers_minimal
from tests.conftest import LambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.event_handler import Response

PATH = "/api/user-data"


def post(event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """A POST (user-data-post event): one mutation or a batch; returns (status, headers, JSON body)."""

    def mutate() -> Response[str]:
        payload = json_object(event, BODY_MAX_BYTES)
        request = write_request(event, "POST", PATH, payload)
        minimal = prefers_minimal(event)
        written = user_data.mutate(DynamoUnitOfWork(), request, payload, render.data_answer, minimal=minimal)
        return written_response(written, render.data_answer)

    return _answered(mutate)


def get(event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """A full read (user-data-get event, no Accept-Encoding): returns (status, headers, JSON body)."""

    def read() -> Response[str]:
        answer, version = user_data.read(DynamoUnitOfWork(), identity(event).user_id)
        return spliced.data_response(answer, version, None)

    return _answered(read)


def _answered(call: Callable[[], Response[Any]]) -> tuple[int, dict[str, str], Any]:
    with budget.started(LambdaContext()):  # the handler's budget (Api.handle), this thread's own
        try:
            response = call()
        except AppError as error:
            response = error_response(error)
    headers = {name: str(value) for name, value in (response.headers or {}).items()}
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    return response.status_code, headers, json.loads(body) if body else None
