"""Connection labels and name suffixes (CONTRACT §2.8, §10 "Labels", "Ids and names")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciq.domain.labels import collapse_whitespace, normalize_label, with_suffix
from ciq.errors import ValidationFailed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Support", "Support"),
        ("  Support  ", "Support"),
        ("Main   site\tchat\n", "Main site chat"),
        ("\u00a0Caf\u00e9\u2003Bar ", "Caf\u00e9 Bar"),  # unicode spaces count as whitespace
    ],
)
def test_labels_are_trimmed_and_collapsed(raw: str, expected: str) -> None:
    # Given no other label in scope; When a raw label is normalized; Then it is trimmed and collapsed
    assert normalize_label(raw, []) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_an_empty_label_becomes_profile_1(raw: str | None) -> None:
    assert normalize_label(raw, []) == "Profile 1"


def test_profile_n_takes_the_lowest_free_number_case_insensitively() -> None:
    # Given labels "Profile 1", "profile 3" and an unrelated one in scope
    taken = ["Profile 1", "profile 3", "Support"]

    # When an empty label is normalized; Then 2 is the lowest free number
    assert normalize_label("", taken) == "Profile 2"
    # and with 1..3 taken, 4
    assert normalize_label("", [*taken, "PROFILE 2"]) == "Profile 4"


def test_a_case_insensitive_clash_gets_the_next_free_suffix() -> None:
    assert normalize_label("support", ["Support"]) == "support (2)"
    assert normalize_label("Support", ["Support", "SUPPORT (2)"]) == "Support (3)"
    assert normalize_label("Support", ["support (2)"]) == "Support"  # no clash with the base: kept
    assert normalize_label("Profile 1", ["profile 1"]) == "Profile 1 (2)"


def test_a_label_over_80_chars_after_normalization_is_422() -> None:
    # Given a label of 81 chars once trimmed
    with pytest.raises(ValidationFailed) as raised:
        normalize_label("  " + "x" * 81 + "  ", [], pointer="/data/connections/3/label")

    # Then the error points at the label given
    error = raised.value
    assert (error.status, error.code) == (422, "validation_failed")
    assert [d.path for d in error.details] == ["/data/connections/3/label"]


def test_exactly_80_chars_is_kept_and_a_clash_shortens_the_base() -> None:
    label = "a" * 80
    assert normalize_label(label, []) == label
    assert normalize_label(label, [label]) == "a" * 76 + " (2)"
    # a base ending in a space once cut does not leave a double space
    spaced = "a" * 75 + " bbbb"
    assert normalize_label(spaced, [spaced]) == "a" * 75 + " (2)"


@pytest.mark.parametrize(
    ("base", "suffix", "limit", "expected"),
    [
        ("My Workspace", " (Copy)", 120, "My Workspace (Copy)"),
        ("My Workspace (Copy)", " (Copy)", 120, "My Workspace (Copy) (Copy)"),
        ("x" * 120, " (Copy)", 120, "x" * 113 + " (Copy)"),
        ("x" * 113, " (Copy)", 120, "x" * 113 + " (Copy)"),
        ("x" * 114, " (Copy)", 120, "x" * 113 + " (Copy)"),
    ],
)
def test_with_suffix(base: str, suffix: str, limit: int, expected: str) -> None:
    assert with_suffix(base, suffix, limit) == expected


@given(
    raw=st.text(alphabet=st.sampled_from("ab AB\t"), max_size=90),
    taken=st.lists(st.text(alphabet=st.sampled_from("ab AB()23"), max_size=84), max_size=8),
)
def test_a_normalized_label_is_valid_and_unique_in_its_scope(raw: str, taken: list[str]) -> None:
    # Given any raw label and any labels in scope
    collapsed = collapse_whitespace(raw)
    if len(collapsed) > 80:
        with pytest.raises(ValidationFailed):
            normalize_label(raw, taken)
        return

    # When it is normalized
    label = normalize_label(raw, taken)

    # Then it is 1-80 chars, collapsed, and clashes with nothing in scope (case-insensitively)
    assert 1 <= len(label) <= 80
    assert label == collapse_whitespace(label)
    assert label.lower() not in {t.lower() for t in taken}
    # and an unclashing non-empty label is kept as given
    if collapsed and collapsed.lower() not in {t.lower() for t in taken}:
        assert label == collapsed
