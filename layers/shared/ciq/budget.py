"""The request's time budget (docs/ops/resilience.md "Time budgets"): every dependency call,
retries included, must finish inside the function's remaining time, so that a request answers (a
503 with Retry-After at worst) before Lambda kills it. A write either commits and answers, or does
not commit and answers 503; a client never meets a timeout for a write that committed.

`started(context)` opens the budget at the top of a handler: the context's remaining time minus
MARGIN_SECONDS (what rendering and answering need after the last call). The store's clients derive
their timeouts and retry attempts from what is left (ciq.store.clients), and the write flow stops
retrying when it is spent. A context that reports no remaining time (0: the test stub) sets no
budget, and the clients keep their fixed limits."""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from ciq.errors import DependencyUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterator

MARGIN_SECONDS = 1.0
_deadline: ContextVar[float | None] = ContextVar("ciq_deadline", default=None)


@contextmanager
def started(context: Any) -> Iterator[None]:
    """The budget of one invocation; the previous one (none) comes back after it."""
    remaining_ms = context.get_remaining_time_in_millis() if context is not None else 0
    deadline = time.monotonic() + remaining_ms / 1000 - MARGIN_SECONDS if remaining_ms > 0 else None
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def reserving(seconds: float) -> Iterator[None]:
    """Calls inside see `seconds` less: time kept for what must follow them (after a commit whose
    reply is lost, the read that tells whether it landed)."""
    deadline = _deadline.get()
    token = _deadline.set(None if deadline is None else deadline - seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left for dependency calls, or None when the invocation has no budget."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def spent() -> DependencyUnavailable:
    return DependencyUnavailable(
        "the request ran out of time before it could complete; nothing was stored, retry shortly",
        headers={"Retry-After": "1"},
    )
