"""Bodies of /api/auth/* (CONTRACT §4): camelCase, unknown fields refused (422)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ciq.contracts.base import ApiModel, Name, Phone
from ciq.contracts.entities import Profile

EMAIL_MAX = 254
# Deliberately simple (the HTML form rule, with a dotted domain): delivery is the real check.
_LOCAL_PART = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_LOCAL_PART}@{_LABEL}(?:\.{_LABEL})+$"
CHALLENGE_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
CODE_PATTERN = r"^[0-9]{6}$"

Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=EMAIL_MAX, pattern=EMAIL_PATTERN)]


class SignUpRequest(ApiModel):
    first_name: Name
    last_name: Name
    email: Email
    company: Name
    phone: Phone


class SignInRequest(ApiModel):
    email: Email


class VerifyRequest(ApiModel):
    challenge_id: Annotated[str, StringConstraints(pattern=CHALLENGE_ID_PATTERN)]
    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=CODE_PATTERN)]


class ChallengeStarted(ApiModel):
    challenge_id: str
    expires_at: str


class SessionOpened(ApiModel):
    token: str
    expires_at: str
    profile: Profile


class SessionView(ApiModel):
    profile: Profile
    expires_at: str
