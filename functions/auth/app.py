"""/api/auth/*: sign-up, sign-in, verify (no session needed), session and sign-out (behind the
authorizer); /api/account: the caller's export and erasure (behind the authorizer). Each route
parses its body, makes one service call and shapes the response."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths

from ciq import audit
from ciq.auth.cookies import cleared_cookie, session_cookie
from ciq.auth.models import SignInRequest, SignUpRequest, VerifyRequest
from ciq.contracts.account import AccountDeleteRequest
from ciq.errors import (
    AccountExists,
    AccountNotFound,
    AppError,
    ChallengeExpired,
    ChallengeLocked,
    ConcurrentModification,
    InvalidCode,
    NotFound,
    RateLimited,
    VerificationLocked,
)
from ciq.metrics import flushed
from ciq.services import account, auth
from ciq.settings import get_settings
from ciq.store.adapters import DynamoAuthStore
from ciq.store.unit_of_work import DynamoUnitOfWork
from ciq.web.api import Api, json_response
from ciq.web.request import identity, json_object, source_ip

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from ciq.contracts.base import ApiModel

BODY_MAX_BYTES = 16 * 1024
NO_STORE = {"Cache-Control": "no-store"}

logger = Logger()
api = Api(logger)
# The services' ports (ciq.ports), created once per sandbox: the DynamoDB adapters.
store = DynamoAuthStore()
accounts = DynamoUnitOfWork()


@api.route(
    "POST",
    "/api/auth/sign-up",
    summary="Start a sign-up: sends a verification code",
    body="SignUpRequest",
    answers={201: "ChallengeStarted"},
    errors=(AccountExists, RateLimited),
)
def sign_up() -> Response[str]:
    started = auth.start_sign_up(store, SignUpRequest.model_validate(_body()), source_ip(_event()))
    logger.info("sign-up code sent")
    return _json(201, started)


@api.route(
    "POST",
    "/api/auth/sign-in",
    summary="Start a sign-in: sends a verification code",
    body="SignInRequest",
    answers={201: "ChallengeStarted"},
    errors=(AccountNotFound, RateLimited),
)
def sign_in() -> Response[str]:
    request = SignInRequest.model_validate(_body())
    with _counting_refusals("sign-in"):
        started = auth.start_sign_in(store, request, source_ip(_event()))
    logger.info("sign-in code sent")
    return _json(201, started)


@api.route(
    "POST",
    "/api/auth/verify",
    summary="Verify a code: opens a session (token and cookie)",
    body="VerifyRequest",
    answers={200: "SessionOpened"},
    errors=(
        InvalidCode,
        NotFound,
        AccountNotFound,
        AccountExists,
        ConcurrentModification,
        ChallengeExpired,
        ChallengeLocked,
        VerificationLocked,
    ),
    sets_cookie=True,
)
def verify() -> Response[str]:
    request = VerifyRequest.model_validate(_body())
    with _counting_refusals("verify"):
        opened = auth.verify(store, request, source_ip(_event()))
    logger.info("session opened", extra={"user_id": opened.profile.user_id})
    cookie = session_cookie(opened.token, get_settings().session_ttl_seconds)
    return _json(200, opened, {"Set-Cookie": cookie})


@api.route("GET", "/api/auth/session", summary="The current session", answers={200: "SessionView"})
def session() -> Response[str]:
    caller = identity(_event())
    return _json(200, auth.current_session(store, caller.user_id, caller.session_id))


@api.route(
    "POST",
    "/api/auth/sign-out",
    summary="Sign out: ends the session",
    answers={204: None},
    sets_cookie=True,
    description="A session already gone is refused by the authorizer first: 401 (treat as signed out).",
)
def sign_out() -> Response[str]:
    caller = identity(_event())
    auth.sign_out(store, caller.user_id, caller.session_id)
    audit.signed_out(caller.user_id, caller.session_id)
    logger.info("session signed out", extra={"user_id": caller.user_id})
    return Response(204, None, "", {**NO_STORE, "Set-Cookie": cleared_cookie()})


@api.route(
    "GET",
    "/api/account/export",
    summary="Everything stored about the caller (data access)",
    answers={200: "AccountExport"},
)
def export_account() -> Response[str]:
    caller = identity(_event())
    exported = account.export(accounts, store, caller.user_id, caller.session_id)
    audit.account_exported(caller.user_id, caller.session_id)
    return _json(200, exported)


@api.route(
    "DELETE",
    "/api/account",
    summary="Erase the account and everything about it (a fresh sign-in code required)",
    body="AccountDeleteRequest",
    answers={204: None},
    errors=(InvalidCode, NotFound, ChallengeExpired, ChallengeLocked, VerificationLocked),
    sets_cookie=True,
)
def delete_account() -> Response[str]:
    caller = identity(_event())
    request = AccountDeleteRequest.model_validate(_body())
    with _counting_refusals("delete-account"):
        account.delete(store, caller.user_id, request)
    logger.info("account deleted", extra={"user_id": caller.user_id})
    return Response(204, None, "", {**NO_STORE, "Set-Cookie": cleared_cookie()})


def _json(status: int, model: ApiModel, headers: dict[str, str] | None = None) -> Response[str]:
    # Auth answers carry tokens or profiles: never cached by a browser or a proxy.
    return json_response(status, model.model_dump_json(), {**NO_STORE, **(headers or {})})


def _body() -> dict[str, Any]:
    return json_object(_event(), BODY_MAX_BYTES)


def _event() -> dict[str, Any]:
    return api.resolver.current_event.raw_event


@contextmanager
def _counting_refusals(step: str) -> Iterator[None]:
    """SignInFailed: a sign-in or verify that the auth rules refused (unknown email, wrong, used,
    expired or locked code, rate limit). Malformed bodies (400/422) are refused before this, and
    outages (5xx) are the alarms' business, not a failed sign-in. Each is also an audit record (ciq.audit)."""
    try:
        yield
    except AppError as refused:
        if refused.status < 500:
            audit.sign_in_refused(step, refused.code)
        raise


# log_event stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says: bodies hold emails and codes,
# headers hold session tokens.
@flushed
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
