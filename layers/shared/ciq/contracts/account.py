"""/api/account: the caller's data export and account deletion (CONTRACT §11 "Account"; GDPR
articles 15 and 17). See docs/api/auth.md "Account export and deletion"."""

from __future__ import annotations

from ciq.auth.models import VerifyRequest
from ciq.contracts.base import ApiModel
from ciq.contracts.entities import Profile, UserData
from ciq.contracts.setup_status import SetupStatus


class AccountDeleteRequest(VerifyRequest):
    """A fresh code of a sign-in challenge of the caller's own email: a session alone cannot delete."""


class SessionInfo(ApiModel):
    session_id: str
    created_at: str
    expires_at: str
    current: bool


class IdempotencyInfo(ApiModel):
    key_hash: str
    status: int
    version: int | None
    expires_at: int  # epoch seconds


class VerificationState(ApiModel):
    consecutive_failures: int
    locked_until: str | None


class AccountExport(ApiModel):
    exported_at: str
    profile: Profile
    data: UserData
    version: int
    setup_status: SetupStatus
    sessions: list[SessionInfo]
    idempotency_records: list[IdempotencyInfo]
    verification: VerificationState
    audit: str
