"""A last check of every invariant of CONTRACT §2 before anything is stored. Each mutation already
enforces the rules it could break; this guards the whole account against a rule that was missed."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from ciq.contracts.base import MAX_CONNECTIONS_PER_AGENT
from ciq.domain.defaults import DEFAULT_GROUP_ID
from ciq.errors import Detail, InvariantViolation

if TYPE_CHECKING:
    from ciq.domain.account import Account


def violations(account: Account) -> list[str]:
    problems: list[str] = []
    ids = [g.id for g in account.groups] + [
        item.id
        for items in (account.workspaces, account.knowledge_bases, account.agents, account.connections)
        for item in items
    ]
    if account.outside is not None:  # a partial account: the ids of the workspaces not loaded too
        ids += [*account.outside.workspace_ids, *account.outside.entity_ids]
    problems += [f"id {i!r} is used {n} times" for i, n in Counter(ids).items() if n > 1]
    groups = {g.id for g in account.groups}
    if DEFAULT_GROUP_ID not in groups:
        problems.append("the default group is missing")
    if not account.workspaces and account.outside is None:
        problems.append("the account has no workspace")
    kb_home = {kb.id: kb.workspace_id for kb in account.knowledge_bases}
    agent_home = {a.id: a.workspace_id for a in account.agents}
    workspace_ids = {w.id for w in account.workspaces}
    for workspace in account.workspaces:
        if workspace.group_id not in groups:
            problems.append(f"workspace {workspace.id!r} is in an unknown group")
        if kb_home.get(workspace.default_kb_id) != workspace.id:
            problems.append(f"workspace {workspace.id!r} has no default knowledge base of its own")
        if agent_home.get(workspace.default_agent_id) != workspace.id:
            problems.append(f"workspace {workspace.id!r} has no default agent of its own")
    for kb in account.knowledge_bases:
        if kb.workspace_id not in workspace_ids:
            problems.append(f"knowledge base {kb.id!r} has no workspace")
        if kb.group_id is not None and kb.group_id not in groups:
            problems.append(f"knowledge base {kb.id!r} is in an unknown group")
    for agent in account.agents:
        if kb_home.get(agent.knowledge_base_id) != agent.workspace_id:
            problems.append(f"agent {agent.id!r} is bound to a knowledge base outside its workspace")
    held: Counter[str] = Counter()
    for connection in account.connections:
        if connection.workspace_id not in workspace_ids:
            problems.append(f"connection {connection.id!r} has no workspace")
        if connection.family.agent_managed:
            if agent_home.get(connection.agent_id or "") != connection.workspace_id:
                problems.append(f"connection {connection.id!r} has no agent in its workspace")
            held[connection.agent_id or ""] += 1
        else:
            if connection.agent_id is not None:
                problems.append(f"connection {connection.id!r} is KB-owned but names an agent")
            if kb_home.get(connection.knowledge_base_id or "") != connection.workspace_id:
                problems.append(f"connection {connection.id!r} has no knowledge base in its workspace")
    problems += [
        f"agent {agent_id!r} holds {n} connections"
        for agent_id, n in held.items()
        if n > MAX_CONNECTIONS_PER_AGENT
    ]
    return problems


def check_invariants(account: Account) -> None:
    problems = violations(account)
    if problems:
        raise InvariantViolation(
            "the change would break the account's invariants",
            [Detail("", "invariant_violation", p) for p in problems],
        )
