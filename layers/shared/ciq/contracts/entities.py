"""UserData and its entities as the API returns them (CONTRACT §1). Derived fields are filled by
`ciq.domain.derive` after every change and on every read; a client never sets them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ciq.contracts.base import (
    CUSTOM_OBJECTIVES_MAX,
    CUSTOM_TEXT_MAX,
    LABEL_MAX,
    PRESETS_MAX,
    ApiModel,
    Description,
    EntityId,
    ImageRef,
    Name,
    Phone,
    Timestamp,
    absent_if_none,
)

SCHEMA_VERSION = 2  # 2 introduced agents (the backfill migrates 1 -> 2)


class Family(StrEnum):
    SOCIAL_COMMENTS = "social-comments"
    REVIEW_PLATFORMS = "review-platforms"
    FACEBOOK_MESSENGER = "facebook-messenger"
    WEB_CHAT = "web-chat"
    WHATSAPP = "whatsapp"
    SMS = "sms"

    @property
    def agent_managed(self) -> bool:
        return self not in (Family.SOCIAL_COMMENTS, Family.REVIEW_PLATFORMS)

    @property
    def app(self) -> str:
        return "Chatti Live" if self.agent_managed else "Comment Responder"


PLATFORMS: dict[Family, tuple[str, ...]] = {
    Family.SOCIAL_COMMENTS: ("facebook", "instagram", "linkedin", "threads"),
    Family.REVIEW_PLATFORMS: ("google", "yelp", "tripadvisor", "trustpilot", "facebook-reviews"),
}
PHONE_FAMILIES = (Family.WHATSAPP, Family.SMS)
APPS_ORDER = ("Comment Responder", "Chatti Live")

KbStatus = Literal["incomplete", "complete"]
AgentStatus = Literal["draft", "inactive", "active"]
ConnectionState = Literal["pending", "connected", "degraded"]
SyncState = Literal["synced", "pending", "failed"]
SYNC_ERROR_MAX = 300

Preset = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=CUSTOM_TEXT_MAX)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=LABEL_MAX)]  # never empty: normalized


class MultiSelectValue(ApiModel):
    presets: Annotated[list[Preset], Field(max_length=PRESETS_MAX)] = []
    custom_text: LongText = ""

    def is_set(self) -> bool:
        return bool(self.presets) or bool(self.custom_text.strip())


class CustomObjective(ApiModel):
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    title: ShortText
    text: LongText


class KbDraftState(ApiModel):
    """Each field is null until the user touches it (pristine)."""

    brand_personality: MultiSelectValue | None = None
    primary_objective: MultiSelectValue | None = None
    secondary_objective: MultiSelectValue | None = None
    greetings: MultiSelectValue | None = None
    closing: MultiSelectValue | None = None
    emojis: MultiSelectValue | None = None
    hashtags: MultiSelectValue | None = None
    exceptions: MultiSelectValue | None = None
    clarifications: MultiSelectValue | None = None
    default_cta: MultiSelectValue | None = None
    custom_objectives: Annotated[list[CustomObjective], Field(max_length=CUSTOM_OBJECTIVES_MAX)] | None = None


class Profile(ApiModel):
    user_id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    phone: str = ""
    created_at: Timestamp


class Group(ApiModel):
    id: EntityId
    name: Name


class Workspace(ApiModel):
    id: EntityId
    name: Name
    description: Description = ""
    group_id: EntityId
    owner_id: str
    image: ImageRef | None = absent_if_none()
    default_kb_id: EntityId
    default_agent_id: EntityId
    number_of_knowledge_bases: int = 0  # derived
    number_of_users: int = 1
    connected_apps: list[str] = []  # derived
    apps_activated: bool = False  # derived
    created_at: Timestamp
    updated_at: Timestamp


class KnowledgeBase(ApiModel):
    id: EntityId
    workspace_id: EntityId
    group_id: EntityId | None = absent_if_none()
    name: Name
    status: KbStatus = "incomplete"  # derived
    draft: KbDraftState = Field(default_factory=KbDraftState)
    agents_set_count: int = 0  # derived
    created_at: Timestamp
    updated_at: Timestamp


class Agent(ApiModel):
    id: EntityId
    workspace_id: EntityId
    knowledge_base_id: EntityId
    name: Name
    paused: bool = False
    status: AgentStatus = "draft"  # derived
    connection_ids: list[str] = []  # derived
    # Live-agents sync (docs/api/live-agents.md): absent until the agent is written or synced;
    # `syncError` is the upstream's reason when `syncState` is "failed".
    sync_state: SyncState | None = absent_if_none()
    sync_error: Annotated[str, StringConstraints(max_length=SYNC_ERROR_MAX)] | None = absent_if_none()
    created_at: Timestamp
    updated_at: Timestamp


class Compliance(ApiModel):
    """SMS 10DLC registration data."""

    brand_name: ShortText = ""
    ein: ShortText = ""
    campaign_use_case: ShortText = ""
    sample_message: Annotated[str, StringConstraints(max_length=2000)] = ""
    opt_in_description: Annotated[str, StringConstraints(max_length=2000)] = ""


class Connection(ApiModel):
    id: EntityId
    workspace_id: EntityId
    family: Family
    platform: str | None = absent_if_none()
    label: Label
    knowledge_base_id: EntityId | None = None  # derived for agent-managed families (the agent's KB)
    agent_id: EntityId | None = None
    active: bool = True
    state: ConnectionState = "connected"
    added_via: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = absent_if_none()
    phone_number: Phone | None = absent_if_none()
    compliance: Compliance | None = absent_if_none()
    created_at: Timestamp
    updated_at: Timestamp


class NodePosition(ApiModel):
    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)


NodePositions = dict[str, dict[str, NodePosition]]


class UserData(ApiModel):
    schema_version: int = SCHEMA_VERSION
    profile: Profile
    groups: list[Group]
    workspaces: list[Workspace]
    knowledge_bases: list[KnowledgeBase]
    agents: list[Agent]
    connections: list[Connection]
    node_positions: NodePositions = {}
