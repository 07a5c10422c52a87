"""Verification codes: six digits, stored only as an HMAC bound to their challenge."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal

FIXED_CODE = "123456"  # the MVP's code; Settings refuses VERIFICATION_MODE=fixed on production stages
CODE_DIGITS = 6


def new_code(mode: Literal["random", "fixed"]) -> str:
    if mode == "fixed":
        return FIXED_CODE
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(pepper: bytes, challenge_id: str, code: str) -> str:
    """Bound to the challenge, so one stored digest says nothing about another challenge's code."""
    return hmac.new(pepper, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(pepper: bytes, challenge_id: str, code: str, stored_digest: str) -> bool:
    return hmac.compare_digest(code_digest(pepper, challenge_id, code), stored_digest)
