"""The mutation union of POST /api/user-data (CONTRACT §4): flat objects told apart by `type`.

In an update, a field that is left out is unchanged; `null` is accepted only where the field can be
cleared (`image`, `compliance`, draft keys)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import Field, StringConstraints, ValidationError, ValidationInfo, field_validator

from ciq.contracts.base import ApiModel, Description, EntityId, ImageRef, Name, Phone, ProposedId
from ciq.contracts.entities import (
    Compliance,
    ConnectionState,
    Family,
    KbDraftState,
    NodePosition,
)
from ciq.errors import Detail, PayloadTooLarge, UnknownMutation, invalid, validation_failed

NodeKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
AddedVia = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class _Mutation(ApiModel):
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        # A field validator (not a model validator) so that the 422 points at the field: /name.
        if value is None and info.field_name not in cls.nullable:
            raise ValueError(f"{_camel(info.field_name or '')} may be left out but not null")
        return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class ProfileUpdate(_Mutation):
    type: Literal["profile.update"]
    first_name: Name | None = None
    last_name: Name | None = None
    company: Name | None = None
    phone: Phone | None = None


class GroupCreate(_Mutation):
    type: Literal["group.create"]
    id: ProposedId | None = None
    name: Name


class GroupUpdate(_Mutation):
    type: Literal["group.update"]
    group_id: EntityId
    name: Name


class GroupDelete(_Mutation):
    type: Literal["group.delete"]
    group_id: EntityId


class WorkspaceCreate(_Mutation):
    type: Literal["workspace.create"]
    id: ProposedId | None = None
    name: Name
    description: Description | None = None
    group_id: EntityId | None = None
    image: ImageRef | None = None


class WorkspaceUpdate(_Mutation):
    nullable = frozenset({"image"})
    type: Literal["workspace.update"]
    workspace_id: EntityId
    name: Name | None = None
    description: Description | None = None
    group_id: EntityId | None = None
    image: ImageRef | None = None
    default_kb_id: EntityId | None = None
    default_agent_id: EntityId | None = None


class WorkspaceDuplicate(_Mutation):
    type: Literal["workspace.duplicate"]
    id: ProposedId | None = None
    workspace_id: EntityId


class WorkspaceDelete(_Mutation):
    type: Literal["workspace.delete"]
    workspace_id: EntityId


class WorkspaceReorder(_Mutation):
    type: Literal["workspace.reorder"]
    workspace_ids: Annotated[list[EntityId], Field(min_length=1, max_length=1000)]


class KnowledgeBaseCreate(_Mutation):
    type: Literal["knowledgeBase.create"]
    id: ProposedId | None = None
    workspace_id: EntityId
    name: Name | None = None
    group_id: EntityId | None = None
    draft: KbDraftState | None = None


class KnowledgeBaseUpdate(_Mutation):
    type: Literal["knowledgeBase.update"]
    knowledge_base_id: EntityId
    name: Name | None = None
    group_id: EntityId | None = None
    draft: KbDraftState | None = None  # only the keys given are replaced


class KnowledgeBaseDelete(_Mutation):
    type: Literal["knowledgeBase.delete"]
    knowledge_base_id: EntityId


class AgentCreate(_Mutation):
    type: Literal["agent.create"]
    id: ProposedId | None = None
    workspace_id: EntityId
    knowledge_base_id: EntityId
    name: Name


class AgentUpdate(_Mutation):
    type: Literal["agent.update"]
    agent_id: EntityId
    name: Name | None = None
    knowledge_base_id: EntityId | None = None
    status: Literal["active", "inactive"] | None = None  # "draft" is derived, never set


class AgentDelete(_Mutation):
    type: Literal["agent.delete"]
    agent_id: EntityId


class ConnectionCreate(_Mutation):
    type: Literal["connection.create"]
    id: ProposedId | None = None
    workspace_id: EntityId
    family: Family
    platform: str | None = None
    label: Annotated[str, StringConstraints(max_length=1000)] | None = None
    knowledge_base_id: EntityId | None = None
    agent_id: EntityId | None = None
    phone_number: Phone | None = None
    compliance: Compliance | None = None
    added_via: AddedVia | None = None


class ConnectionUpdate(_Mutation):
    nullable = frozenset({"compliance"})
    type: Literal["connection.update"]
    connection_id: EntityId
    label: Annotated[str, StringConstraints(max_length=1000)] | None = None
    knowledge_base_id: EntityId | None = None
    agent_id: EntityId | None = None
    active: bool | None = None
    state: ConnectionState | None = None
    phone_number: Phone | None = None
    compliance: Compliance | None = None


class ConnectionDelete(_Mutation):
    type: Literal["connection.delete"]
    connection_id: EntityId


class NodePositionsSet(_Mutation):
    type: Literal["nodePositions.set"]
    workspace_id: EntityId
    positions: Annotated[dict[NodeKey, NodePosition], Field(max_length=2000)]


Mutation = Annotated[
    ProfileUpdate
    | GroupCreate
    | GroupUpdate
    | GroupDelete
    | WorkspaceCreate
    | WorkspaceUpdate
    | WorkspaceDuplicate
    | WorkspaceDelete
    | WorkspaceReorder
    | KnowledgeBaseCreate
    | KnowledgeBaseUpdate
    | KnowledgeBaseDelete
    | AgentCreate
    | AgentUpdate
    | AgentDelete
    | ConnectionCreate
    | ConnectionUpdate
    | ConnectionDelete
    | NodePositionsSet,
    Field(discriminator="type"),
]


Command = _Mutation
"""A change to an account: one class per mutation, told apart by its `type` on the wire."""
C = TypeVar("C", bound=Command)


class CommandParser(Generic[C]):
    """A route's discriminated union of commands, validated one member at a time: the `type` is read
    first and only that command's model validates the item, so a request builds (`defer_build`) the
    validators of the commands it sends, not the whole union's (a cold start pays for one model, not
    nineteen). The union is the only list of a route's commands: the accepted `type`s are read from
    it, never from a registry kept beside it."""

    def __init__(self, union: Any, *, name_known: bool = False) -> None:
        self._name_known = name_known
        members = get_args(get_args(union)[0]) if get_origin(union) is Annotated else get_args(union)
        self._models: dict[str, type[C]] = {
            get_args(cls.model_fields["type"].annotation)[0]: cls for cls in members
        }
        self.types: tuple[str, ...] = tuple(self._models)

    def parse(self, item: dict[str, Any], where: str = "") -> C:
        """`item` as its command: an unknown or missing `type` is 400 unknown_mutation (checked
        first), a bad shape is 422 with field pointers under `where`."""
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in self._models:
            message = "a mutation needs a string type"
            if isinstance(kind, str):
                message = f"unknown mutation type {kind!r}"
            if self._name_known:
                message += "; one of " + ", ".join(self.types)
            raise UnknownMutation(message, [Detail(f"{where}/type", "unknown_mutation", message)])
        try:
            return self._models[kind].model_validate(item)
        except ValidationError as error:
            raise validation_failed(error, where) from None


MUTATIONS: CommandParser[Any] = CommandParser(Mutation)


def parse_mutations(payload: Any, batch_max: int) -> tuple[list[Command], bool]:
    """One mutation object or `{"mutations": [...]}`; returns the mutations and whether it was a batch.
    Unknown or missing `type` is 400 unknown_mutation; a bad shape is 422 with field pointers."""
    if not isinstance(payload, dict):
        raise invalid("", 'the body must be a mutation object or {"mutations": [...]}', "type")
    if "type" not in payload and "mutations" in payload:
        extra = sorted(set(payload) - {"mutations"})
        if extra:
            raise invalid(f"/{extra[0]}", f"unknown field {extra[0]!r} beside mutations", "extra_forbidden")
        items, prefix = payload["mutations"], "/mutations/{}"
        if not isinstance(items, list) or not items:
            raise invalid("/mutations", "mutations must be a non-empty list", "type")
        if len(items) > batch_max:
            raise PayloadTooLarge(
                f"a batch holds at most {batch_max} mutations; this one has {len(items)}",
                [Detail("/mutations", "too_many", f"at most {batch_max} mutations per request")],
            )
        batch = True
    else:
        items, prefix, batch = [payload], "", False
    parsed = []
    for index, item in enumerate(items):
        parsed.append(MUTATIONS.parse(item if isinstance(item, dict) else {}, prefix.format(index)))
    return parsed, batch
