"""/api/setup-status (CONTRACT §4, §9 "Setup status"): the Get Started lifecycle mutations of PATCH,
one per request, and the setup status that GET and PATCH answer.

The mutations share the user-data mutations' base, so they follow the same field rules: unknown
fields are refused, a field left out is unchanged, `null` only where a value can be cleared."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from ciq.contracts.base import ApiModel, EntityId, Phone
from ciq.contracts.entities import Compliance, Connection, ConnectionState, Family
from ciq.contracts.mutations import Command, CommandParser, _Mutation
from ciq.errors import invalid

# Labels are normalized (and their 80-char limit checked) by the domain, as in connection.create.
RawLabel = Annotated[str, StringConstraints(max_length=1000)]


class SelectChannelTypes(_Mutation):
    type: Literal["selectChannelTypes"]
    channel_types: Annotated[list[Family], Field(max_length=len(Family))]

    @field_validator("channel_types")
    @classmethod
    def _each_once(cls, value: list[Family]) -> list[Family]:
        if len(set(value)) != len(value):
            raise ValueError("channelTypes lists a channel type more than once")
        return value


class AddConnection(_Mutation):
    type: Literal["addConnection"]
    family: Family
    platform: str | None = None
    label: RawLabel | None = None
    phone_number: Phone | None = None
    compliance: Compliance | None = None


class UpdateConnection(_Mutation):
    nullable = frozenset({"compliance"})
    type: Literal["updateConnection"]
    connection_id: EntityId
    label: RawLabel | None = None
    active: bool | None = None
    state: ConnectionState | None = None
    phone_number: Phone | None = None
    compliance: Compliance | None = None


class RemoveConnection(_Mutation):
    type: Literal["removeConnection"]
    connection_id: EntityId


class SetPersistentlyHidden(_Mutation):
    type: Literal["setPersistentlyHidden"]
    hidden: bool


class DismissForSession(_Mutation):
    type: Literal["dismissForSession"]


class RestoreGetStarted(_Mutation):
    type: Literal["restoreGetStarted"]


class CompleteOnboarding(_Mutation):
    type: Literal["completeOnboarding"]


SetupMutation = Annotated[
    SelectChannelTypes
    | AddConnection
    | UpdateConnection
    | RemoveConnection
    | SetPersistentlyHidden
    | DismissForSession
    | RestoreGetStarted
    | CompleteOnboarding,
    Field(discriminator="type"),
]
SETUP_MUTATIONS: CommandParser[Any] = CommandParser(SetupMutation, name_known=True)


def parse_setup_mutation(payload: Any) -> Command:
    """Exactly one mutation object. Unknown or missing `type` is 400 unknown_mutation (checked first,
    so a batch `{"mutations": [...]}` is one too); a bad shape is 422 with field pointers."""
    if not isinstance(payload, dict):
        raise invalid("", "the body must be one mutation object", "type")
    command: Command = SETUP_MUTATIONS.parse(payload)
    return command


class Progress(ApiModel):
    select_channels: bool
    connect_channels: bool
    train_ai: bool
    completed_steps: int


class OnboardingTarget(ApiModel):
    workspace_id: str
    group_id: str
    knowledge_base_id: str
    agent_id: str


class SetupStatus(ApiModel):
    """What GET answers and every PATCH answers after its change; the version is the ETag."""

    selected_channel_types: list[Family]
    connections: list[Connection]
    onboarding_complete: bool
    persistently_hidden: bool
    dismissed_for_session: bool
    show_get_started: bool
    progress: Progress
    onboarding_target: OnboardingTarget
