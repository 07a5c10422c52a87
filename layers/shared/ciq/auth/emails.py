"""Emails are compared after trimming and lowercasing, and are addressed only by a keyed hash, so no
raw email sits in a key, a token, the authorizer context or a log line."""

from __future__ import annotations

import hashlib
import hmac


def normalize_email(email: str) -> str:
    return email.strip().lower()


def source_hash(pepper: bytes, address: str) -> str:
    """A source address as stored in a key: keyed hash, so the table holds no IP address."""
    return hmac.new(pepper, f"addr:{address}".encode(), hashlib.sha256).hexdigest()


def email_hash(pepper: bytes, email: str) -> str:
    """HMAC-SHA256 of the normalized email, hex. Keyed, so the hash of a guessed email cannot be
    computed (and matched against the table) without the pepper."""
    return hmac.new(pepper, normalize_email(email).encode(), hashlib.sha256).hexdigest()


def mask_email(email: str) -> str:
    """`j***@example.com`: enough for a developer reading the local outbox line."""
    local, _, domain = normalize_email(email).partition("@")
    return f"{local[:1]}***@{domain}"
