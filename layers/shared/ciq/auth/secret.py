"""The auth secret: session signing keys (by key id) and the pepper that keys every HMAC of an email
or a verification code. It lives in one SSM SecureString, read through Powertools Parameters with a
cache of SECRETS_MAX_AGE_SECONDS, on first use (never at import time).

Value format (JSON):
    {"activeKid": "k2", "keys": {"k1": "<base64url>", "k2": "<base64url>"}, "pepper": "<base64url>"}
Each key and the pepper decode to at least 32 random bytes. Rotation: add a key, make it active, and
remove the old one only after the tokens it signed have expired (SESSION_TTL_SECONDS). The pepper is
never rotated: it addresses the email items, so changing it would orphan every account."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ciq.errors import DependencyUnavailable
from ciq.settings import get_settings

MIN_KEY_BYTES = 32
KID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

_log = logging.getLogger(__name__)


def _decode_key(value: object) -> bytes:
    # Messages never contain the value: a validation error of this model may reach a log.
    if not isinstance(value, str):
        raise ValueError("must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64url") from None
    if len(raw) < MIN_KEY_BYTES:
        raise ValueError(f"must decode to at least {MIN_KEY_BYTES} bytes")
    return raw


KeyBytes = Annotated[bytes, BeforeValidator(_decode_key)]
KeyId = Annotated[str, Field(pattern=KID_PATTERN)]


class AuthSecret(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, hide_input_in_errors=True)

    active_kid: KeyId = Field(alias="activeKid")
    keys: dict[KeyId, KeyBytes] = Field(min_length=1)
    pepper: KeyBytes

    @model_validator(mode="after")
    def _active_key_exists(self) -> AuthSecret:
        if self.active_kid not in self.keys:
            raise ValueError("activeKid must name one of keys")
        return self

    @property
    def signing_key(self) -> bytes:
        return self.keys[self.active_kid]


def load_auth_secret() -> AuthSecret:
    """The current secret (cached by Powertools for SECRETS_MAX_AGE_SECONDS). Raises
    DependencyUnavailable (503) when SSM cannot be read or the value is not in the format above."""
    # Imported on first use: Parameters imports boto3, which the function's init should not pay
    # for (ciq/store/clients.py); every path that gets here makes an AWS call anyway.
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS  # noqa: PLC0415
    from aws_lambda_powertools.utilities.parameters.exceptions import (  # noqa: PLC0415
        GetParameterError,
        TransformParameterError,
    )

    from ciq.store import clients  # noqa: PLC0415 - boto3 again

    settings = get_settings()
    try:
        # Powertools' own provider (its cache is the one `clear_caches` empties), reading through
        # a client bounded by the request's time budget (ciq.budget) instead of botocore's
        # defaults (60 s reads, 5 attempts: 181 s measured against a hanging endpoint).
        client = clients.ssm()
        if "ssm" in DEFAULT_PROVIDERS:
            DEFAULT_PROVIDERS["ssm"].client = client
        else:
            DEFAULT_PROVIDERS["ssm"] = parameters.SSMProvider(boto3_client=client)
        value = parameters.get_parameter(
            settings.auth_secret_param,
            decrypt=True,
            max_age=settings.secrets_max_age_seconds,
            transform="json",
        )
        return AuthSecret.model_validate(value)
    except (GetParameterError, TransformParameterError) as error:
        _log.error("auth secret could not be read (%s)", type(error).__name__)
        raise _unavailable() from error
    except ValidationError as error:
        # Field paths only: never the value.
        fields = sorted({"/".join(str(p) for p in e["loc"]) for e in error.errors(include_input=False)})
        _log.error("auth secret has an invalid format; check: %s", ", ".join(fields))
        raise _unavailable() from None


def _unavailable() -> DependencyUnavailable:
    return DependencyUnavailable(
        "sessions cannot be checked or issued right now; retry shortly", headers={"Retry-After": "5"}
    )
