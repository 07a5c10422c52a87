"""`validateKbDraft`: which KB settings must be set before the KB (and its agents) can work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ciq.contracts.entities import KbDraftState, MultiSelectValue

REQUIRED_FIELDS = ("brand_personality", "primary_objective", "greetings", "closing", "default_cta")


@dataclass(frozen=True)
class KbValidation:
    is_complete: bool
    missing_fields: list[str]  # camelCase draft keys


def validate_kb_draft(draft: KbDraftState) -> KbValidation:
    missing = [_camel(name) for name in REQUIRED_FIELDS if not _is_set(getattr(draft, name))]
    return KbValidation(is_complete=not missing, missing_fields=missing)


def _is_set(value: MultiSelectValue | None) -> bool:
    return value is not None and value.is_set()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
