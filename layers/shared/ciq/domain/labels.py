"""Connection labels (CONTRACT §2.8, §10): trimmed, inner whitespace collapsed, 1-80 characters;
empty becomes `Profile N`; a case-insensitive clash in the same workspace+family+platform gets
` (2)`, ` (3)`... A suffix that would pass the limit shortens the base, never the suffix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ciq.contracts.base import LABEL_MAX
from ciq.errors import invalid

if TYPE_CHECKING:
    from collections.abc import Iterable


def collapse_whitespace(value: str) -> str:
    return " ".join(value.split())


def with_suffix(base: str, suffix: str, limit: int) -> str:
    return base[: limit - len(suffix)].rstrip() + suffix


def normalize_label(raw: str | None, taken: Iterable[str], pointer: str = "/label") -> str:
    label = collapse_whitespace(raw or "")
    if len(label) > LABEL_MAX:
        raise invalid(
            pointer, f"label is {len(label)} characters after normalization; at most {LABEL_MAX}", "too_long"
        )
    used = {t.lower() for t in taken}
    if not label:
        n = 1
        while f"profile {n}" in used:
            n += 1
        return f"Profile {n}"
    if label.lower() not in used:
        return label
    k = 2
    while (candidate := with_suffix(label, f" ({k})", LABEL_MAX)).lower() in used:
        k += 1
    return candidate
