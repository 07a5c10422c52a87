"""validateKbDraft (CONTRACT §1 KbDraftState): the five required fields, and when a field counts as set."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciq.contracts.entities import KbDraftState
from ciq.domain.kb_validation import validate_kb_draft

REQUIRED = ["brandPersonality", "primaryObjective", "greetings", "closing", "defaultCta"]
OPTIONAL = ["secondaryObjective", "emojis", "hashtags", "exceptions", "clarifications"]
SET = {"presets": ["x"], "customText": ""}


def draft(**fields: Any) -> KbDraftState:
    return KbDraftState.model_validate(fields)


def test_a_pristine_draft_misses_the_five_required_fields_in_order() -> None:
    result = validate_kb_draft(KbDraftState())
    assert result.is_complete is False
    assert result.missing_fields == REQUIRED


def test_the_five_required_fields_make_it_complete_whatever_the_optional_ones() -> None:
    result = validate_kb_draft(draft(**dict.fromkeys(REQUIRED, SET)))
    assert (result.is_complete, result.missing_fields) == (True, [])


@pytest.mark.parametrize("missing", REQUIRED)
def test_each_required_field_is_needed(missing: str) -> None:
    # Given every field set but one required one (optional fields and objectives set too)
    fields = {key: SET for key in REQUIRED + OPTIONAL if key != missing}
    fields["customObjectives"] = [{"id": "o", "title": "t", "text": "x"}]

    # Then the draft is incomplete and names exactly that field
    result = validate_kb_draft(draft(**fields))
    assert (result.is_complete, result.missing_fields) == (False, [missing])


@pytest.mark.parametrize(
    ("value", "is_set"),
    [
        (None, False),
        ({"presets": [], "customText": ""}, False),
        ({"presets": [], "customText": "   \n\t"}, False),
        ({}, False),
        ({"presets": ["friendly"], "customText": ""}, True),
        ({"presets": [], "customText": "Be kind"}, True),
        ({"presets": [], "customText": "  x  "}, True),
        ({"presets": ["a", "b"], "customText": "and more"}, True),
    ],
)
def test_when_a_field_counts_as_set(value: Any, is_set: bool) -> None:
    fields = dict.fromkeys(REQUIRED, SET)
    fields["greetings"] = value
    result = validate_kb_draft(draft(**fields))
    assert result.is_complete is is_set
    assert result.missing_fields == ([] if is_set else ["greetings"])


_value = st.one_of(
    st.none(),
    st.builds(
        lambda presets, text: {"presets": presets, "customText": text},
        st.lists(st.sampled_from(["a", "b"]), max_size=2),
        st.sampled_from(["", " ", "text"]),
    ),
)


@given(st.fixed_dictionaries(dict.fromkeys(REQUIRED + OPTIONAL, _value)))
def test_complete_iff_every_required_field_has_a_preset_or_text(fields: dict[str, Any]) -> None:
    def is_set(value: Any) -> bool:
        return value is not None and (bool(value["presets"]) or bool(value["customText"].strip()))

    result = validate_kb_draft(draft(**fields))
    expected_missing = [key for key in REQUIRED if not is_set(fields[key])]
    assert result.missing_fields == expected_missing
    assert result.is_complete is (not expected_missing)
