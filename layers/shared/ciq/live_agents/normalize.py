"""Upstream agent records -> the Agent shape (docs/api/live-agents.md "Normalization"). Pure: no I/O,
no logging; the caller logs every rejection. A record is accepted only when everything it names is
in the user's own data; the store still wins any disagreement (the plan in `sync` decides that)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ciq.contracts.base import IMPORTED_ID_PATTERN, MAX_CONNECTIONS_PER_AGENT, NAME_MAX
from ciq.live_agents.tracking import AgentView

if TYPE_CHECKING:
    from ciq.contracts.entities import AgentStatus
    from ciq.domain.account import Account

STATUS_SYNONYMS: dict[str, AgentStatus] = {
    **dict.fromkeys(("active", "enabled", "live", "on", "running"), "active"),
    **dict.fromkeys(("inactive", "paused", "disabled", "off", "stopped"), "inactive"),
    **dict.fromkeys(("draft", "pending", "setup"), "draft"),
}
UNKNOWN_STATUS: AgentStatus = "inactive"

# Field names are matched ignoring case, "_" and "-": workspaceId, workspace_id, WorkspaceID.
_FIELDS = {
    "id": ("id", "agentid"),
    "name": ("name",),
    "workspace_id": ("workspaceid",),
    "knowledge_base_id": ("knowledgebaseid", "kbid"),
    "status": ("status", "state"),
    "channels": ("channels", "connectionids", "channelids"),
}
_ID = re.compile(IMPORTED_ID_PATTERN)


@dataclass(frozen=True)
class UpstreamAgent:
    """One accepted record, in the Agent shape."""

    id: str
    name: str
    workspace_id: str
    knowledge_base_id: str
    status: AgentStatus
    channels: tuple[str, ...]

    def view(self) -> AgentView:
        return AgentView(
            id=self.id,
            workspace_id=self.workspace_id,
            knowledge_base_id=self.knowledge_base_id,
            name=self.name,
            status=self.status,
            channels=tuple(sorted(self.channels)),
        )


@dataclass(frozen=True)
class Rejection:
    """A record left out of the sync: `reason` is a stable code, `message` says what was wrong."""

    agent_id: str | None
    reason: str
    message: str


def normalize_status(value: object) -> AgentStatus:
    """Any case, surrounding blanks and `-`/`_`/space inside ignored ("Set-Up" is "setup");
    anything unknown (a non-string included) is inactive."""
    if not isinstance(value, str):
        return UNKNOWN_STATUS
    return STATUS_SYNONYMS.get(re.sub(r"[\s_-]+", "", value).casefold(), UNKNOWN_STATUS)


def normalize_records(records: list[Any], account: Account) -> tuple[list[UpstreamAgent], list[Rejection]]:
    accepted: list[UpstreamAgent] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    for record in records:
        result = _normalize(record, account)
        if isinstance(result, Rejection):
            rejected.append(result)
        elif result.id in seen:
            rejected.append(Rejection(result.id, "duplicate_id", "the service listed this id twice"))
        else:
            seen.add(result.id)
            accepted.append(result)
    return accepted, rejected


def record_id(record: Any) -> str | None:
    """The id a record names (under any of its accepted field names), valid or not."""
    agent_id = _fields(record).get("id") if isinstance(record, dict) else None
    return agent_id if isinstance(agent_id, str) else None


def _normalize(record: Any, account: Account) -> UpstreamAgent | Rejection:
    if not isinstance(record, dict):
        return Rejection(None, "not_an_object", "a record must be a JSON object")
    fields = _fields(record)
    agent_id = fields.get("id")
    if not isinstance(agent_id, str) or not _ID.fullmatch(agent_id):
        return Rejection(None, "invalid_id", "a record needs a string id of letters, digits and ._:-")

    def refuse(reason: str, message: str) -> Rejection:
        return Rejection(agent_id, reason, message)

    name = fields.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= NAME_MAX:
        return refuse("invalid_name", f"the name must be 1-{NAME_MAX} characters")
    channels = _channel_ids(fields.get("channels", []))
    if channels is None:
        return refuse("invalid_channels", "channels must be a list of connection ids or {id} objects")
    if len(channels) > MAX_CONNECTIONS_PER_AGENT:
        return refuse(
            "too_many_channels",
            f"the record lists {len(channels)} channels; an agent holds at most {MAX_CONNECTIONS_PER_AGENT}",
        )
    workspace_id, kb_id = fields.get("workspace_id"), fields.get("knowledge_base_id")
    workspaces = {w.id for w in account.workspaces}
    if workspace_id not in workspaces:
        return refuse("outside_reference", "the workspace is not in the user's data")
    kb = next((k for k in account.knowledge_bases if k.id == kb_id), None)
    if kb is None or kb.workspace_id != workspace_id:
        return refuse("outside_reference", "the knowledge base is not in the agent's workspace")
    usable = {c.id for c in account.connections if c.workspace_id == workspace_id and c.family.agent_managed}
    if any(c not in usable for c in channels):
        return refuse("outside_reference", "a channel is not an agent-managed connection of the workspace")
    return UpstreamAgent(
        id=agent_id,
        name=name,
        workspace_id=str(workspace_id),
        knowledge_base_id=kb.id,
        status=normalize_status(fields.get("status")),
        channels=tuple(dict.fromkeys(channels)),
    )


def _keys(record: dict[Any, Any]) -> dict[str, Any]:
    return {re.sub(r"[_-]", "", str(k)).casefold(): v for k, v in record.items()}


def _fields(record: dict[Any, Any]) -> dict[str, Any]:
    by_key = _keys(record)
    found = {}
    for field, names in _FIELDS.items():
        for name in names:
            if name in by_key:
                found[field] = by_key[name]
                break
    return found


def _channel_ids(value: Any) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    ids = []
    for item in value:
        keys = _keys(item) if isinstance(item, dict) else {}
        channel = keys.get("id", keys.get("connectionid")) if isinstance(item, dict) else item
        if not isinstance(channel, str) or not channel:
            return None
        ids.append(channel)
    return list(dict.fromkeys(ids))
