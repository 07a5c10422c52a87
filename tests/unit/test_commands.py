"""The command registry (ciq.domain.commands) and the one parser per route's union: every command
class has exactly one applier, and parsing goes through the union's TypeAdapter."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import pytest
from pydantic import Field

from ciq.contracts import mutations as m
from ciq.contracts import setup_status as s
from ciq.contracts.base import BATCH_MAX
from ciq.domain.commands import APPLIERS, Appliers
from ciq.errors import UnknownMutation, ValidationFailed


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
