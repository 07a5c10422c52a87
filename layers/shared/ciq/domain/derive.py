"""Derived fields (CONTRACT §1, §2.6, §2.9): recomputed from stored facts after every change and on
every read. One source of truth: an agent's connections are the connections naming it."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ciq.contracts.entities import APPS_ORDER, AgentStatus
from ciq.domain.kb_validation import validate_kb_draft
from ciq.errors import Detail

if TYPE_CHECKING:
    from ciq.contracts.entities import Agent, Connection
    from ciq.domain.account import Account


def agent_status(kb_complete: bool, paused: bool, has_active_connection: bool) -> AgentStatus:
    if not kb_complete:
        return "draft"
    if paused or not has_active_connection:
        return "inactive"
    return "active"


def activation_blockers(account: Account, agent: Agent) -> list[Detail]:
    """What keeps an agent from being active once un-paused (the details of 409 agent_not_ready)."""
    blockers = []
    kb = account.knowledge_base(agent.knowledge_base_id)
    missing = validate_kb_draft(kb.draft).missing_fields
    if missing:
        blockers.append(
            Detail(
                "/knowledgeBaseId",
                "kb_incomplete",
                f"knowledge base {kb.id!r} is incomplete: missing {', '.join(missing)}",
            )
        )
    if not any(c.active for c in account.connections_of_agent(agent.id)):
        blockers.append(
            Detail("/connectionIds", "no_active_connection", "the agent has no active connection")
        )
    return blockers


def derive(account: Account) -> None:
    kb_complete = {}
    for kb in account.knowledge_bases:
        complete = validate_kb_draft(kb.draft).is_complete
        kb.status = "complete" if complete else "incomplete"
        kb_complete[kb.id] = complete

    agents_per_kb: dict[str, int] = defaultdict(int)
    for agent in account.agents:
        agents_per_kb[agent.knowledge_base_id] += 1
    for kb in account.knowledge_bases:
        kb.agents_set_count = agents_per_kb[kb.id]

    by_agent: dict[str, list[Connection]] = defaultdict(list)
    for connection in account.connections:
        if connection.agent_id is not None:
            by_agent[connection.agent_id].append(connection)
    agent_kb = {}
    for agent in account.agents:
        mine = by_agent[agent.id]
        agent.connection_ids = [c.id for c in mine]
        agent.status = agent_status(
            kb_complete.get(agent.knowledge_base_id, False), agent.paused, any(c.active for c in mine)
        )
        agent_kb[agent.id] = agent.knowledge_base_id

    apps: dict[str, set[str]] = defaultdict(set)
    kb_count: dict[str, int] = defaultdict(int)
    for connection in account.connections:
        if connection.family.agent_managed:
            connection.knowledge_base_id = agent_kb.get(connection.agent_id or "")
        apps[connection.workspace_id].add(connection.family.app)
    for kb in account.knowledge_bases:
        kb_count[kb.workspace_id] += 1
    for workspace in account.workspaces:
        workspace.number_of_knowledge_bases = kb_count[workspace.id]
        workspace.connected_apps = [app for app in APPS_ORDER if app in apps[workspace.id]]
        workspace.apps_activated = bool(workspace.connected_apps)
