"""PUT /api/user-data: the whole-document import of the frontend's one-time local-to-server
migration. Lenient where the old local shape differs (unknown fields dropped, derived fields and the
profile ignored, missing schemaVersion = 1), strict where data would be corrupted (ids, references)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from ciq.contracts.base import ApiModel, Description, EntityId, ImageRef, Name, Phone
from ciq.contracts.entities import (
    Compliance,
    ConnectionState,
    Family,
    KbDraftState,
    NodePosition,
)


class _Lenient(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="ignore"
    )

    @field_validator("created_at", "updated_at", mode="before", check_fields=False)
    @classmethod
    def _timestamp(cls, value: Any) -> str | None:
        """Keeps a parseable timestamp (normalized to UTC with milliseconds), drops anything else."""
        if not isinstance(value, str):
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            in_utc = parsed.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
            return None
        return in_utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ImportGroup(_Lenient):
    id: EntityId
    name: Name


class ImportWorkspace(_Lenient):
    id: EntityId
    name: Name
    description: Description = ""
    group_id: EntityId | None = None
    image: ImageRef | None = None
    default_kb_id: EntityId | None = None
    default_agent_id: EntityId | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ImportKnowledgeBase(_Lenient):
    id: EntityId
    workspace_id: EntityId
    group_id: EntityId | None = None
    name: Name = "My Knowledge Base"
    draft: KbDraftState | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @field_validator("draft", mode="before")
    @classmethod
    def _known_draft_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            known = {f.alias for f in KbDraftState.model_fields.values()} | set(KbDraftState.model_fields)
            return {k: v for k, v in value.items() if k in known}
        return value


class ImportAgent(_Lenient):
    id: EntityId
    workspace_id: EntityId | None = None
    knowledge_base_id: EntityId
    name: Name = "My Agent"
    paused: bool = False
    created_at: str | None = None
    updated_at: str | None = None


class ImportConnection(_Lenient):
    id: EntityId
    workspace_id: EntityId
    family: Family
    platform: str | None = None
    label: str | None = Field(default=None, max_length=1000)
    knowledge_base_id: EntityId | None = None
    agent_id: EntityId | None = None
    active: bool = True
    state: ConnectionState = "connected"
    added_via: str | None = Field(default=None, min_length=1, max_length=40)
    phone_number: Phone | None = None
    compliance: Compliance | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ImportDocument(_Lenient):
    schema_version: int = Field(default=1, ge=1)
    groups: list[ImportGroup] = Field(default=[], max_length=1000)
    workspaces: list[ImportWorkspace] = Field(min_length=1, max_length=1000)
    knowledge_bases: list[ImportKnowledgeBase] = Field(default=[], max_length=10000)
    agents: list[ImportAgent] = Field(default=[], max_length=10000)
    connections: list[ImportConnection] = Field(default=[], max_length=20000)
    node_positions: dict[str, dict[str, NodePosition]] = {}


class ImportRequest(ApiModel):
    data: ImportDocument
