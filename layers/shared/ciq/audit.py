"""Audit events (docs hub §13; schema in docs/ops/security.md): one structured log record per
security-relevant change, written after the change committed, through the Powertools Logger.

    {"level": "INFO", "message": "audit workspace.created", "audit": true, "event": "workspace.created",
     "userId": "...", "sessionId": "...", "entityId": "ws-...", "service": "...", ...}

Internal ids only: user, session and entity ids, a refusal's error code. Never an email, a name, a
token, a code, message or KB content. The same call sites count the business metrics (ciq.metrics):
each function here records the metric and writes the audit record, so the two never drift apart.

The records go through a child of the function's Powertools Logger (same JSON formatter, same
Lambda context and correlation id), at INFO whatever POWERTOOLS_LOG_LEVEL says: an audit trail does
not switch off with the log level."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from ciq import metrics
from ciq.domain import events

_logger = Logger(child=True)
_logger.setLevel("INFO")


class AuditEvent(StrEnum):
    SIGN_UP_COMPLETED = "auth.sign_up.completed"
    SIGN_IN_SUCCEEDED = "auth.sign_in.success"
    SIGN_IN_FAILED = "auth.sign_in.failure"
    SIGNED_OUT = "auth.sign_out"
    VERIFICATION_LOCKED = "auth.verification.locked"
    ACCOUNT_EXPORTED = "account.exported"
    ACCOUNT_DELETED = "account.deleted"
    WORKSPACE_CREATED = "workspace.created"
    KB_CREATED = "kb.created"
    KB_UPDATED = "kb.updated"
    KB_DELETED = "kb.deleted"
    CHANNEL_CONNECTED = "channel.connected"
    CHANNEL_DISCONNECTED = "channel.disconnected"
    ONBOARDING_COMPLETED = "onboarding.completed"
    DATA_IMPORTED = "data.imported"


# The audit record and business metric of each domain event (ciq.domain.events).
DOMAIN_EVENTS: dict[type[events.DomainEvent], tuple[AuditEvent, metrics.Event]] = {
    events.WorkspaceCreated: (AuditEvent.WORKSPACE_CREATED, metrics.Event.WORKSPACE_CREATED),
    events.KnowledgeBaseCreated: (AuditEvent.KB_CREATED, metrics.Event.KNOWLEDGE_BASE_CHANGED),
    events.KnowledgeBaseUpdated: (AuditEvent.KB_UPDATED, metrics.Event.KNOWLEDGE_BASE_CHANGED),
    events.KnowledgeBaseDeleted: (AuditEvent.KB_DELETED, metrics.Event.KNOWLEDGE_BASE_CHANGED),
    events.ConnectionAdded: (AuditEvent.CHANNEL_CONNECTED, metrics.Event.CONNECTION_ADDED),
    events.ConnectionRemoved: (AuditEvent.CHANNEL_DISCONNECTED, metrics.Event.CONNECTION_REMOVED),
    events.OnboardingCompleted: (AuditEvent.ONBOARDING_COMPLETED, metrics.Event.ONBOARDING_COMPLETED),
    events.DataImported: (AuditEvent.DATA_IMPORTED, metrics.Event.DATA_IMPORTED),
}


def emit(event: AuditEvent, **ids: str | None) -> None:
    """Writes one audit record; `ids` are internal ids (camelCase keys), None ones left out."""
    fields: dict[str, Any] = {"audit": True, "event": event.value}
    fields.update({key: value for key, value in ids.items() if value is not None})
    _logger.info(f"audit {event.value}", extra=fields)


def signed_in(user_id: str, session_id: str, *, new_account: bool) -> None:
    """A verify that committed its session (and, for a sign-up, the account)."""
    if new_account:
        metrics.record(metrics.Event.SIGN_UP_COMPLETED)
        emit(AuditEvent.SIGN_UP_COMPLETED, userId=user_id, sessionId=session_id)
    metrics.record(metrics.Event.SIGN_IN_SUCCEEDED)
    emit(AuditEvent.SIGN_IN_SUCCEEDED, userId=user_id, sessionId=session_id)


def sign_in_refused(step: str, reason: str) -> None:
    """A sign-in or verify the auth rules refused; `reason` is the error code. No user id: the
    caller is not known (and naming the account of an email would be enumeration in the logs)."""
    metrics.record(metrics.Event.SIGN_IN_FAILED)
    emit(AuditEvent.SIGN_IN_FAILED, step=step, reason=reason)


def verification_locked(user_id: str | None, failures: int, lock_seconds: int) -> None:
    """A failed verify that locked its email's verification. `userId` for a sign-in challenge (the
    account under attack), none for a sign-up (no account yet); never the email or its hash."""
    metrics.record(metrics.Event.VERIFICATION_LOCKED)
    emit(
        AuditEvent.VERIFICATION_LOCKED,
        userId=user_id,
        failures=str(failures),
        lockSeconds=str(lock_seconds),
    )


def account_exported(user_id: str, session_id: str) -> None:
    emit(AuditEvent.ACCOUNT_EXPORTED, userId=user_id, sessionId=session_id)


def account_deleted(user_id: str) -> None:
    """After the erasure committed: the user id alone (random, and now pointing at nothing)."""
    emit(AuditEvent.ACCOUNT_DELETED, userId=user_id)


def signed_out(user_id: str, session_id: str) -> None:
    emit(AuditEvent.SIGNED_OUT, userId=user_id, sessionId=session_id)


def committed(user_id: str, session_id: str | None, event: events.DomainEvent) -> None:
    """A stored change (never a replay): its business metric and audit record, when it has them."""
    recorded = DOMAIN_EVENTS.get(type(event))
    if recorded is not None:
        audit_event, metric = recorded
        metrics.record(metric)
        emit(audit_event, userId=user_id, sessionId=session_id, entityId=event.entity_id)
