"""Business metrics: CloudWatch embedded metric format (EMF) through Powertools Metrics.

A service records an event with `record(...)` (accepted mutations through `ciq.audit`);
the handler's `@flushed` decorator prints them as one EMF JSON line on stdout when the invocation
ends, and CloudWatch Logs turns that line into metrics. Namespace: POWERTOOLS_METRICS_NAMESPACE;
the only dimension is `service` (POWERTOOLS_SERVICE_NAME): no user id, email or other PII ever
becomes a dimension. docs/ops/deploy.md lists the metrics and what counts as each.

Powertools keeps the metric set at class level, shared by every Metrics instance of the process.
In Lambda a sandbox runs one request at a time; the local run, which loads every function into one
process, runs their handlers one at a time too (local/functions.py). Adding and flushing still take
one lock, never contended there, for code that records from a thread of its own."""

from __future__ import annotations

import functools
import logging
import threading
from enum import StrEnum
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from aws_lambda_powertools.metrics import Metrics, MetricUnit

if TYPE_CHECKING:
    from collections.abc import Callable

_log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class Event(StrEnum):
    """Metric names (unit Count). The docs hub's analytics event each one stands for is in
    docs/ops/deploy.md."""

    SIGN_IN_SUCCEEDED = "SignInSucceeded"
    SIGN_IN_FAILED = "SignInFailed"
    SIGN_UP_COMPLETED = "SignUpCompleted"
    WORKSPACE_CREATED = "WorkspaceCreated"
    KNOWLEDGE_BASE_CHANGED = "KnowledgeBaseChanged"
    CONNECTION_ADDED = "ConnectionAdded"
    CONNECTION_REMOVED = "ConnectionRemoved"
    ONBOARDING_COMPLETED = "OnboardingCompleted"
    DATA_IMPORTED = "DataImported"
    SESSION_REFUSED = "SessionRefused"
    AUTHORIZER_FAILURE = "AuthorizerFailure"
    VERIFICATION_LOCKED = "VerificationLocked"


_metrics = Metrics()
_lock = threading.Lock()


def record(event: Event, count: int = 1) -> None:
    if count > 0:
        with _lock:
            _metrics.add_metric(name=event.value, unit=MetricUnit.Count, value=count)


def flush(publisher: Metrics = _metrics) -> None:
    """Prints the recorded metrics as one EMF line; nothing when none were recorded. A failure here
    is logged and never fails the request, whose work is already done."""
    with _lock:
        if not publisher.metric_set:
            return
        try:
            publisher.flush_metrics()
        except Exception as error:
            _log.warning("metrics not published: %s", error)
            publisher.clear_metrics()


def flushed(handler: Callable[P, R]) -> Callable[P, R]:
    """Handler decorator: flushes the invocation's metrics when it ends, on success or error.
    Applied at import, so the `service` dimension is the function's own POWERTOOLS_SERVICE_NAME
    (the local run sets it per function only while importing each one)."""
    publisher = Metrics()

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        finally:
            flush(publisher)

    return wrapper
