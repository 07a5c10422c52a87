"""tests.conftest.invoke, the helper every handler test uses, runs one handler at a time, as a Lambda
sandbox does: Powertools keeps the request being handled on class attributes, so two threads inside
handlers at once could answer each other's events."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import invoke


def test_two_threads_never_run_handlers_at_the_same_time() -> None:
    # Given a handler that waits up to 0.5 s for a second invocation to be inside a handler with it
    meeting = threading.Barrier(2)

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            meeting.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            return {"statusCode": 200, "body": '{"met": false}'}
        return {"statusCode": 200, "body": '{"met": true}'}

    module = SimpleNamespace(lambda_handler=lambda_handler)
    # When two threads invoke it at once
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: invoke(module, {}), range(2)))  # type: ignore[arg-type]
    # Then neither ever had the other inside a handler
    assert [body for _, _, body in answers] == [{"met": False}, {"met": False}]


def test_a_handler_invoked_from_inside_a_handler_is_refused() -> None:
    # Given a handler that invokes another handler (it would wait for itself, or clobber the request)
    inner = SimpleNamespace(lambda_handler=lambda event, context: {"statusCode": 204})
    outer = SimpleNamespace(lambda_handler=lambda event, context: invoke(inner, {}))  # type: ignore[arg-type]
    # When it is invoked; Then the test fails at once with the reason
    with pytest.raises(AssertionError, match="from inside a handler"):
        invoke(outer, {})  # type: ignore[arg-type]
