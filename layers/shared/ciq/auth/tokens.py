"""Session tokens: compact JWS (JWT) signed with HMAC-SHA256 (HS256).

Header `{"alg": "HS256", "kid": <active key id>, "typ": "JWT"}`; claims `sub` (userId), `sid`
(sessionId), `iat` and `exp` (epoch seconds). Verification accepts HS256 only and only a `kid` that
is still in the secret's keys, so removing a key retires every token it signed. Times are checked
against `ciq.auth.clock`, the clock of the whole auth flow (PyJWT's own time checks are off): `exp`,
`iat` and an optional `nbf` must be integers (JSON numbers without a fraction, not strings or
booleans), `iat` and `nbf` not later than now plus CLOCK_SKEW_SECONDS. A token has one spelling:
three unpadded base64url segments whose decoding re-encodes to the same text, so no padded or
spare-bit variant of a token passes as another string."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import jwt
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

if TYPE_CHECKING:
    from datetime import datetime

    from ciq.auth.secret import AuthSecret

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "sid", "iat", "exp")
# userId and sessionId are secrets.token_urlsafe values; anything else is not one of ours.
OPAQUE_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
MAX_TOKEN_CHARS = 4096
# Instances' clocks agree to milliseconds; a token's whole-second iat may still be read a moment
# "early" by another instance.
CLOCK_SKEW_SECONDS = 5
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


class InvalidToken(Exception):
    """The token cannot open a session. `reason` is safe to log; the token never is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


OpaqueId = Annotated[str, Field(pattern=OPAQUE_ID_PATTERN)]


class Claims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    sub: OpaqueId
    sid: OpaqueId
    iat: StrictInt
    exp: StrictInt
    nbf: StrictInt | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    issued_at: datetime
    expires_at: datetime


def issue(
    secret: AuthSecret, user_id: str, session_id: str, issued_at: datetime, ttl_seconds: int
) -> IssuedToken:
    issued_at = issued_at.replace(microsecond=0)  # JWT times are whole seconds
    expires_at = issued_at + timedelta(seconds=ttl_seconds)
    claims = {
        "sub": user_id,
        "sid": session_id,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    token = jwt.encode(claims, secret.signing_key, algorithm=ALGORITHM, headers={"kid": secret.active_kid})
    return IssuedToken(token=token, issued_at=issued_at, expires_at=expires_at)


def verify(token: str, secret: AuthSecret, now: datetime) -> Claims:
    """The token's claims when it is well formed, signed by a current key and not expired."""
    if not token or len(token) > MAX_TOKEN_CHARS or not _canonical(token):
        raise InvalidToken("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("malformed") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("algorithm")
    kid = header.get("kid")
    key = secret.keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("unknown_kid")
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        claims = Claims.model_validate(payload)
    except jwt.InvalidSignatureError:
        raise InvalidToken("signature") from None
    except (jwt.PyJWTError, ValidationError):
        raise InvalidToken("claims") from None
    now_seconds = int(now.timestamp())
    if claims.iat > claims.exp or claims.iat > now_seconds + CLOCK_SKEW_SECONDS:
        raise InvalidToken("claims")
    if claims.nbf is not None and claims.nbf > now_seconds + CLOCK_SKEW_SECONDS:
        raise InvalidToken("claims")
    if claims.exp <= now_seconds:
        raise InvalidToken("expired")
    return claims


def _canonical(token: str) -> bool:
    """Three base64url segments, unpadded, each the one encoding of its bytes."""
    segments = token.split(".")
    if len(segments) != 3 or not all(_SEGMENT.fullmatch(s) for s in segments):
        return False
    for segment in segments:
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        except (binascii.Error, ValueError):
            return False
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != segment:
            return False
    return True
