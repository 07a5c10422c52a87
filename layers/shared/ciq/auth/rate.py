"""Per-email limit on new challenges: a sliding window of the times challenges were issued
(CONTRACT §9 "Rate limits"). Per-source-address limit on challenges and verifications: a fixed
window counted atomically (CONTRACT §11). Pure: the store keeps the counts, the service decides."""

from __future__ import annotations

import math
from dataclasses import dataclass

CHALLENGES_PER_WINDOW = 5
WINDOW_SECONDS = 15 * 60
ADDRESS_WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class AddressWindow:
    """The fixed window a request falls in: its start (epoch seconds, part of the counter's key)
    and the seconds until it ends (the Retry-After of a refusal)."""

    start: int
    seconds_left: int


def address_window(now_seconds: int) -> AddressWindow:
    start = now_seconds - now_seconds % ADDRESS_WINDOW_SECONDS
    return AddressWindow(start=start, seconds_left=start + ADDRESS_WINDOW_SECONDS - now_seconds)


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
