"""The command registry (ciq.domain.commands) and the one parser per route's union: every command
class has exactly one applier, and parsing reads the `type` first and validates with that command's
model alone (what the union's TypeAdapter would say, built for one model, not nineteen)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from ciq.contracts import mutations as m
from ciq.contracts import setup_status as s
from ciq.contracts.base import BATCH_MAX
from ciq.domain.commands import APPLIERS, Appliers
from ciq.errors import UnknownMutation, ValidationFailed, validation_failed


def _members(union: object) -> set[type]:
    return set(get_args(get_args(union)[0]))


def test_every_command_of_every_union_has_one_applier() -> None:
    # Given the unions of /api/user-data and /api/setup-status; Then the registry holds exactly them
    assert APPLIERS.registered() == _members(m.Mutation) | _members(s.SetupMutation)


def test_a_command_cannot_get_a_second_applier() -> None:
    # Given a registry with an applier for group.create; When another is registered; Then it is refused
    appliers = Appliers()
    appliers.register(m.GroupCreate, lambda account, ctx, command: {"id": command.name})
    with pytest.raises(ValueError, match="already has an applier"):
        appliers.register(m.GroupCreate, lambda account, ctx, command: {})


def test_the_accepted_types_are_read_from_the_union() -> None:
    # Given a union of two commands; Then the parser accepts their tags and nothing else
    class One(m.Command):
        type: Literal["one"]

    class Two(m.Command):
        type: Literal["two"]
        size: int

    parser: m.CommandParser[One | Two] = m.CommandParser(Annotated[One | Two, Field(discriminator="type")])
    assert parser.types == ("one", "two")
    assert isinstance(parser.parse({"type": "two", "size": 3}), Two)
    with pytest.raises(UnknownMutation):
        parser.parse({"type": "three"})


def test_a_bad_field_points_at_the_field_not_at_the_union_tag() -> None:
    # Given a batch whose second mutation has a bad name; When parsed; Then the pointer is the field's
    payload = {"mutations": [{"type": "group.create", "name": "a"}, {"type": "group.create", "name": ""}]}
    with pytest.raises(ValidationFailed) as raised:
        m.parse_mutations(payload, BATCH_MAX)
    assert [d.path for d in raised.value.details] == ["/mutations/1/name"]


def test_setup_status_names_its_types_when_one_is_unknown() -> None:
    # Given a user-data type sent to setup-status; When parsed; Then 400 unknown_mutation lists the known
    with pytest.raises(UnknownMutation) as raised:
        s.parse_setup_mutation({"type": "group.create"})
    assert "selectChannelTypes" in raised.value.message
    assert raised.value.details[0].path == "/type"


# Bad shapes of several commands: wrong types, blanks, nulls, extra fields, nested draft keys.
_BAD_ITEMS: list[dict[str, Any]] = [
    {"type": "group.create", "name": ""},
    {"type": "group.create"},
    {"type": "group.update", "groupId": "g", "name": None, "extra": 1},
    {"type": "workspace.create", "name": 3, "groupId": None},
    {"type": "workspace.reorder", "workspaceIds": []},
    {"type": "knowledgeBase.update", "knowledgeBaseId": "", "draft": {"nope": 1}},
    {"type": "knowledgeBase.update", "knowledgeBaseId": "kb", "draft": "x", "name": "a" * 500},
    {"type": "agent.create", "workspaceId": ["w"], "name": {"a": 1}},
    {"type": "connection.create", "workspaceId": "w", "label": "x" * 1001},
    {"type": "nodePositions.set", "workspaceId": "w", "positions": {"": {"x": "a"}}},
    {"type": "profile.update", "email": "not-allowed"},
]


@pytest.mark.parametrize("item", _BAD_ITEMS, ids=lambda item: str(item["type"]))
def test_one_models_errors_are_the_unions_errors(item: dict[str, Any]) -> None:
    # Given a bad mutation inside a batch; When parsed by the model its type names
    with pytest.raises(ValidationFailed) as raised:
        m.parse_mutations({"mutations": [{"type": "group.delete", "groupId": "g"}, item]}, BATCH_MAX)
    # Then the 422's details are those the whole union's TypeAdapter gives (its tag skipped)
    with pytest.raises(ValidationError) as by_union:
        TypeAdapter(m.Mutation).validate_python(item)
    expected = validation_failed(by_union.value, "/mutations/1", skip=1)
    assert raised.value.details == expected.details
    assert raised.value.message == expected.message


def test_a_first_parse_builds_only_the_model_it_needs() -> None:
    # Given a fresh interpreter (nothing built yet); When one knowledgeBase.update is parsed
    # (a spy on pydantic's schema generation, private API, lists the models whose schema is built)
    child = """
from pydantic._internal import _generate_schema as g
from ciq.contracts import mutations as m
seen = []
original = g.GenerateSchema._model_schema
def spy(self, cls):
    seen.append(cls.__name__)
    return original(self, cls)
g.GenerateSchema._model_schema = spy
m.parse_mutations({"type": "knowledgeBase.update", "knowledgeBaseId": "kb-1", "name": "a"}, 25)
members = {c.__name__ for c in m.get_args(m.get_args(m.Mutation)[0])}
print(",".join(sorted(set(seen) & members)))
"""
    layer = Path(m.__file__).resolve().parents[2]
    built = subprocess.run(
        [sys.executable, "-c", child], cwd=layer, capture_output=True, text=True, check=True
    )
    # Then only that command's schema was built, not the other eighteen (the union built all 19)
    assert built.stdout.strip() == "KnowledgeBaseUpdate"
