"""Per-email limit on new challenges: a sliding window of the times challenges were issued
(CONTRACT §9 "Rate limits"). Pure: the store keeps the window, the service writes it back."""

from __future__ import annotations

import math
from dataclasses import dataclass

CHALLENGES_PER_WINDOW = 5
WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Admission:
    """`stamps` is the window to store when admitted; `retry_after` (seconds) when refused."""

    admitted: bool
    stamps: list[int]
    retry_after: int = 0


def admit(stamps: list[int], now_ms: int) -> Admission:
    """Admits one more challenge unless CHALLENGES_PER_WINDOW were issued in the last
    WINDOW_SECONDS. Times are epoch milliseconds; stamps outside the window are dropped."""
    window_ms = WINDOW_SECONDS * 1000
    recent = sorted(s for s in stamps if s > now_ms - window_ms)
    if len(recent) < CHALLENGES_PER_WINDOW:
        return Admission(admitted=True, stamps=[*recent, now_ms])
    # The oldest stamp leaving the window frees one slot.
    wait_ms = recent[-CHALLENGES_PER_WINDOW] + window_ms - now_ms
    return Admission(admitted=False, stamps=recent, retry_after=max(1, math.ceil(wait_ms / 1000)))
