"""Per-account verification lockout (CONTRACT §11 "Verification lockout"). Pure: the store keeps
the count, the service applies it.

Consecutive failed verifications of one email are counted across its challenges. The 10th locks
verification for 15 minutes; each further failure (possible only once a lock has run out) doubles
the wait, up to 24 hours. A verify during a lock is refused without its code being checked; a
success resets the count. Takeover odds this leaves are in docs/ops/security.md."""

from __future__ import annotations

import math

FAILURES_BEFORE_LOCK = 10
FIRST_LOCK_SECONDS = 15 * 60
MAX_LOCK_SECONDS = 24 * 3600
# The count of an email nobody has guessed at for this long is forgotten (DynamoDB TTL).
FORGET_AFTER_SECONDS = 30 * 24 * 3600


def lock_seconds(failures: int) -> int:
    """How long verification locks after `failures` consecutive failures (0: not locked)."""
    if failures < FAILURES_BEFORE_LOCK:
        return 0
    doublings = min(failures - FAILURES_BEFORE_LOCK, 16)  # 15 min * 2**7 already passes the cap
    return int(min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2**doublings))


def retry_after(locked_until_ms: int, now_ms: int) -> int:
    """Whole seconds until a lock ends (at least 1 while it lasts)."""
    return max(1, math.ceil((locked_until_ms - now_ms) / 1000))
