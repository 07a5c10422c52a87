"""Typed domain errors. Each carries its HTTP status and contract error code; `ciq.web.errors` maps
them to the JSON error body in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pydantic import ValidationError


@dataclass(frozen=True)
class Detail:
    """One item of `error.details`: `path` is a JSON Pointer into the request (or "" for the whole)."""

    path: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        details: list[Detail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def at(self, prefix: str) -> AppError:
        """Prefixes every detail path (used to point into `/mutations/<i>` of a batch)."""
        self.details = [Detail(prefix + d.path, d.code, d.message) for d in self.details] or [
            Detail(prefix, self.code, self.message)
        ]
        return self


class InvalidJson(AppError):
    status, code = 400, "invalid_json"


class UnknownMutation(AppError):
    status, code = 400, "unknown_mutation"


class InvalidCode(AppError):
    status, code = 400, "invalid_code"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class AccountNotFound(AppError):
    status, code = 404, "account_not_found"


class MethodNotAllowed(AppError):
    status, code = 405, "method_not_allowed"


class AccountExists(AppError):
    status, code = 409, "account_exists"


class InvariantViolation(AppError):
    status, code = 409, "invariant_violation"


class AgentNotReady(AppError):
    status, code = 409, "agent_not_ready"


class IdTaken(AppError):
    status, code = 409, "id_taken"


class ImportRefused(AppError):
    status, code = 409, "import_refused"


class ConcurrentModification(AppError):
    status, code = 409, "concurrent_modification"


class ChallengeExpired(AppError):
    status, code = 410, "challenge_expired"


class VersionMismatch(AppError):
    status, code = 412, "version_mismatch"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class AggregateTooLarge(AppError):
    status, code = 413, "aggregate_too_large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(AppError):
    status, code = 422, "validation_failed"


class IdempotencyKeyReused(AppError):
    status, code = 422, "idempotency_key_reused"


class RateLimited(AppError):
    status, code = 429, "rate_limited"


class ChallengeLocked(AppError):
    status, code = 429, "challenge_locked"


class VerificationLocked(AppError):
    status, code = 429, "verification_locked"


class DependencyUnavailable(AppError):
    status, code = 503, "dependency_unavailable"


class InternalError(AppError):
    status, code = 500, "internal_error"


def invalid(path: str, message: str, code: str = "invalid") -> ValidationFailed:
    """A 422 about one field."""
    return ValidationFailed(message, [Detail(path, code, message)])


def validation_failed(error: ValidationError, prefix: str = "", skip: int = 0) -> ValidationFailed:
    """422 with one detail per pydantic error, each pointing at the offending field; `skip` leaves
    out the first parts of each location (a discriminated union's tag)."""
    details = [
        Detail(prefix + json_pointer(e["loc"][skip:]), e["type"], _message(e))
        for e in error.errors(include_url=False)
    ]
    return ValidationFailed("the request does not match the schema", details)


def json_pointer(loc: tuple[int | str, ...]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def _message(error: Any) -> str:
    # pydantic messages never echo the input value, which may be a secret or an email.
    return str(error["msg"])


# -- store outcomes the write flow reacts to (not HTTP errors by themselves) -------------------------
class VersionConflict(Exception):
    """Another writer bumped the account's version between our read and our write."""


class ConditionFailed(Exception):
    """A condition on a non-root item of a transaction failed (for example an idempotency record
    that another request wrote first). `index` is the item's position in the transaction."""

    def __init__(self, index: int) -> None:
        super().__init__(f"condition failed on transaction item {index}")
        self.index = index


class EmailClaimed(ConditionFailed):
    """A sign-up's email was claimed by another account between its check and its creation
    (ciq.ports.AuthStore.open_session)."""

    def __init__(self) -> None:
        super().__init__(1)
