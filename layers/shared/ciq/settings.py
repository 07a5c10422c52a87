"""Typed configuration, read from the environment once per sandbox (never from AWS at import time).

Every variable is documented in docs/ops/environment-and-secrets.md; a test checks that list."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ciq.errors import InternalError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    stage: str = Field("local", alias="STAGE", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    table_name: str = Field("ciq-local", alias="TABLE_NAME", min_length=3)
    auth_secret_param: str = Field("/ciq/local/auth-secret", alias="AUTH_SECRET_PARAM")
    secrets_max_age_seconds: int = Field(300, alias="SECRETS_MAX_AGE_SECONDS", ge=0, le=3600)
    verification_mode: Literal["random", "fixed"] = Field("random", alias="VERIFICATION_MODE")
    email_sender: Literal["ses", "log", "outbox"] = Field("ses", alias="EMAIL_SENDER")
    email_from_address: str = Field("", alias="EMAIL_FROM_ADDRESS")
    local_outbox_path: str = Field(".local-outbox/outbox.jsonl", alias="LOCAL_OUTBOX_PATH")
    cors_allow_origins: tuple[str, ...] = Field((), alias="CORS_ALLOW_ORIGINS")
    session_ttl_seconds: int = Field(12 * 3600, alias="SESSION_TTL_SECONDS", ge=60, le=7 * 24 * 3600)
    write_retry_seconds: float = Field(3.0, alias="WRITE_RETRY_SECONDS", ge=0, le=20)
    # Sign-up, sign-in and verify requests per source address per 15-minute window (ciq.auth.rate).
    source_address_auth_limit: int = Field(
        100, alias="SOURCE_ADDRESS_AUTH_LIMIT", ge=1, le=100_000_000
    )
    # Challenges one source address may request for one email per window: fewer than the email's
    # own 5, so one address cannot spend a victim's whole quota.
    source_address_email_challenge_limit: int = Field(
        3, alias="SOURCE_ADDRESS_EMAIL_CHALLENGE_LIMIT", ge=1, le=100_000_000
    )
    # The external live-agents service (docs/api/live-agents.md); an empty URL is store mode.
    live_agents_api_url: str = Field("", alias="LIVE_AGENTS_API_URL", max_length=2048)
    live_agents_api_key_param: str = Field("", alias="LIVE_AGENTS_API_KEY_PARAM", max_length=2048)
    live_agents_timeout_ms: int = Field(2000, alias="LIVE_AGENTS_TIMEOUT_MS", ge=50, le=20_000)
    # Live updates (docs/api/live-updates.md): the WebSocket URL a ticket names, and the management
    # endpoint the notifier posts to; empty: live updates are off (the ticket route answers 503).
    live_socket_url: str = Field("", alias="LIVE_SOCKET_URL", max_length=2048)
    live_socket_endpoint: str = Field("", alias="LIVE_SOCKET_ENDPOINT", max_length=2048)

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _no_wildcard(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "*" in value:
            raise ValueError("'*' is not allowed: the API sends credentials, so origins are listed")
        return value

    @field_validator("live_agents_api_url")
    @classmethod
    def _https_or_loopback(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("LIVE_AGENTS_API_URL must be https (plain http only on a loopback host)")
        if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("LIVE_AGENTS_API_URL must be a base URL: host and path only")
        return value

    @model_validator(mode="after")
    def _fixed_codes_never_in_prod(self) -> Settings:
        if self.verification_mode == "fixed" and self.stage.startswith("prod"):
            raise ValueError("VERIFICATION_MODE=fixed is refused on a production stage")
        return self

    @model_validator(mode="after")
    def _random_codes_reach_the_user(self) -> Settings:
        # The `log` sender delivers nothing: with random codes nobody could ever verify.
        if self.verification_mode == "random" and self.email_sender == "log":
            raise ValueError("EMAIL_SENDER=log needs VERIFICATION_MODE=fixed: a random code must be emailed")
        return self


class MisconfiguredError(InternalError):
    """The function's environment is invalid: an operator problem (500, logged), never the caller's."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as error:
        reasons = "; ".join(str(e["msg"]) for e in error.errors(include_url=False))
        raise MisconfiguredError(f"the function is misconfigured: {reasons}") from None


def reset_settings() -> None:
    """For tests and the local runner, which change the environment between runs."""
    get_settings.cache_clear()
