"""Hydration and the agents backfill (CONTRACT §3, DIGEST §4.1): defaults for a new account, the
backfill of accounts older than agents, its idempotence, and that it never moves a valid assignment."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ciq.contracts.entities import (
    Agent,
    Connection,
    Family,
    KbDraftState,
    KnowledgeBase,
    Profile,
    Workspace,
)
from ciq.domain import defaults
from ciq.domain.account import Account
from ciq.domain.context import Context
from ciq.domain.derive import derive
from ciq.domain.hydrate import AGENTS_SCHEMA_VERSION, backfill_agents, hydrate
from ciq.domain.invariants import violations
from ciq.domain.kb_validation import validate_kb_draft

NOW = "2025-01-01T00:00:00.000Z"
COMPLETE = KbDraftState.model_validate(
    {
        key: {"presets": ["x"], "customText": ""}
        for key in ("brandPersonality", "primaryObjective", "greetings", "closing", "defaultCta")
    }
)
AGENT_FAMILIES = [Family.FACEBOOK_MESSENGER, Family.WEB_CHAT, Family.WHATSAPP, Family.SMS]


def context() -> Context:
    counter = itertools.count(1)
    return Context("u-1", now=NOW, new_id=lambda prefix: f"{prefix}-gen{next(counter)}")


def new_account() -> Account:
    return Account(user_id="u-1", profile=Profile(user_id="u-1", email="a@example.com", created_at=NOW))


def snapshot(account: Account) -> Any:
    return account.to_user_data().model_dump(mode="json")


def legacy_account(layout: list[tuple[int, list[int]]]) -> Account:
    """A schemaVersion 1 account (no agents). `layout`: per workspace, (number of KBs, for each
    agent-family connection the index of the KB it is linked to)."""
    account = new_account()
    account.schema_version, account.initialized = 1, True
    defaults.ensure_default_group(account)
    for w, (kb_count, links) in enumerate(layout):
        ws_id = f"ws-{w}"
        account.workspaces.append(
            Workspace(
                id=ws_id,
                name=f"W{w}",
                group_id="default",
                owner_id="u-1",
                default_kb_id=f"kb-{w}-0",
                default_agent_id=f"agent-{w}-0",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        for k in range(kb_count):
            account.knowledge_bases.append(
                KnowledgeBase(
                    id=f"kb-{w}-{k}",
                    workspace_id=ws_id,
                    name=f"KB {k}",
                    draft=COMPLETE if k % 2 == 0 else KbDraftState(),
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        for c, link in enumerate(links):
            family = AGENT_FAMILIES[c % 4]
            account.connections.append(
                Connection(
                    id=f"conn-{w}-{c}",
                    workspace_id=ws_id,
                    family=family,
                    label=f"C{c}",
                    knowledge_base_id=f"kb-{w}-{link % kb_count}",
                    phone_number="+14155550100" if family in (Family.WHATSAPP, Family.SMS) else None,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        account.connections.append(
            Connection(
                id=f"conn-{w}-social",
                workspace_id=ws_id,
                family=Family.SOCIAL_COMMENTS,
                platform="facebook",
                label="Social",
                knowledge_base_id=f"kb-{w}-{kb_count - 1}",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return account


# -- a new account ---------------------------------------------------------------------------------
def test_hydrating_a_new_account_creates_the_canonical_defaults_once() -> None:
    # Given an account with only a profile
    account, ctx = new_account(), context()

    # When it is hydrated
    assert hydrate(account, ctx) is True

    # Then it holds exactly the defaults, bound together, and a second hydration changes nothing
    assert [(g.id, g.name) for g in account.groups] == [("default", "Default group")]
    assert [(w.id, w.name, w.default_kb_id, w.default_agent_id) for w in account.workspaces] == [
        ("ws-1", "My Workspace", "kb-default-1", "agent-default-1")
    ]
    assert [(k.id, k.name, k.status) for k in account.knowledge_bases] == [
        ("kb-default-1", "My Knowledge Base", "incomplete")
    ]
    assert [(a.id, a.name, a.knowledge_base_id, a.status) for a in account.agents] == [
        ("agent-default-1", "My Agent", "kb-default-1", "draft")
    ]
    assert violations(account) == []
    before = snapshot(account)
    assert hydrate(account, ctx) is False
    assert snapshot(account) == before


# -- the backfill ----------------------------------------------------------------------------------
def test_the_backfill_gives_every_kb_an_agent_and_assigns_connections_by_their_kb() -> None:
    # Given a legacy workspace with 3 KBs; 9 connections on KB 0, 1 on KB 1, none on KB 2
    account = legacy_account([(3, [0] * 9 + [1])])

    # When it is hydrated
    assert hydrate(account, context()) is True

    # Then the schema is current, invariants hold, every KB has an agent
    assert account.schema_version == AGENTS_SCHEMA_VERSION
    assert violations(account) == []
    assert {k.id: k.agents_set_count for k in account.knowledge_bases} == {
        "kb-0-0": 3,
        "kb-0-1": 1,
        "kb-0-2": 1,
    }
    # KB 0's nine connections fill its agents 4 + 4 + 1, starting with the workspace's default agent
    on_kb0 = [a for a in account.agents if a.knowledge_base_id == "kb-0-0"]
    assert [len(a.connection_ids) for a in on_kb0] == [4, 4, 1]
    assert on_kb0[0].id == "agent-0-0"
    assert sorted(a.name for a in account.agents) == [
        "My Agent",
        "My Agent 2",
        "My Agent 3",
        "My Agent 4",
        "My Agent 5",
    ]
    # every connection stayed with its KB; KB-owned ones have no agent
    for connection in account.connections:
        if connection.family.agent_managed:
            assert account.agent(connection.agent_id or "").knowledge_base_id == connection.knowledge_base_id
        else:
            assert connection.agent_id is None
    # statuses are derived: KB 0 complete + active connections -> active; KB 1 incomplete -> draft;
    # KB 2 complete without connections -> inactive
    status = {a.knowledge_base_id: a.status for a in account.agents}
    assert status == {"kb-0-0": "active", "kb-0-1": "draft", "kb-0-2": "inactive"}


def test_the_backfill_is_idempotent() -> None:
    # Given a legacy account backfilled once
    once = legacy_account([(2, [0, 0, 0, 0, 0, 1]), (1, [0, 0])])
    ctx = context()
    hydrate(once, ctx)
    after_once = snapshot(once)

    # When the backfill is run again (and again), and the account hydrated again
    backfill_agents(once, ctx)
    backfill_agents(once, ctx)
    derive(once)

    # Then nothing changed
    assert snapshot(once) == after_once
    assert hydrate(once, ctx) is False
    assert snapshot(once) == after_once


def test_valid_assignments_are_never_moved() -> None:
    # Given an account with agents where some connections are validly assigned (to an agent of another
    # KB of the same workspace, too) and some are not (dangling agent, agent of another workspace, fifth)
    account = legacy_account([(2, [0, 0, 0, 0, 0, 0, 1]), (1, [0])])
    account.agents = [
        Agent(
            id=f"agent-{w}-{k}",
            workspace_id=f"ws-{w}",
            knowledge_base_id=f"kb-{w}-{k}",
            name=f"A{w}{k}",
            created_at=NOW,
            updated_at=NOW,
        )
        for w, k in ((0, 0), (0, 1), (1, 0))
    ]
    assignments = {
        "conn-0-0": "agent-0-1",  # valid: same workspace, another KB
        "conn-0-1": "agent-0-0",
        "conn-0-2": "agent-0-0",
        "conn-0-3": "agent-0-0",
        "conn-0-4": "agent-0-0",
        "conn-0-5": "agent-0-0",  # the fifth on agent-0-0: must move
        "conn-0-6": "agent-1-0",  # another workspace's agent: must move
        "conn-1-0": "agent-gone",  # dangling: must move
    }
    for connection in account.connections:
        connection.agent_id = assignments.get(connection.id)

    # When the backfill runs
    backfill_agents(account, context())
    derive(account)

    # Then the valid ones stayed and the invalid ones moved to agents of their own workspace, within capacity
    agent_of = {c.id: c.agent_id for c in account.connections}
    for conn_id in ("conn-0-0", "conn-0-1", "conn-0-2", "conn-0-3", "conn-0-4"):
        assert agent_of[conn_id] == assignments[conn_id]
    assert agent_of["conn-0-5"] not in {"agent-0-0", "agent-1-0"}
    assert account.agent(agent_of["conn-0-6"] or "").workspace_id == "ws-0"
    assert account.agent(agent_of["conn-1-0"] or "").workspace_id == "ws-1"
    assert violations(account) == []


def test_hydration_of_a_current_account_does_not_backfill() -> None:
    # Given a current account where a second KB has no agent (its agent moved away)
    account, ctx = new_account(), context()
    hydrate(account, ctx)
    defaults.add_knowledge_base(account, ctx, account.workspace("ws-1"), kb_id="kb-two")
    derive(account)

    # When it is hydrated; Then nothing is added (the KB may stay agent-less and be deleted)
    assert hydrate(account, ctx) is False
    assert [a.id for a in account.agents] == ["agent-default-1"]


def test_repair_gives_an_empty_workspace_a_kb_and_an_agent() -> None:
    # Given a current account with a workspace that lost its KB and agent (and a dangling group)
    account, ctx = new_account(), context()
    hydrate(account, ctx)
    account.workspaces.append(
        Workspace(
            id="ws-bare",
            name="Bare",
            group_id="grp-gone",
            owner_id="u-1",
            default_kb_id="kb-bare",
            default_agent_id="agent-bare",
            created_at=NOW,
            updated_at=NOW,
        )
    )

    # When it is hydrated
    assert hydrate(account, ctx) is True

    # Then the workspace has a blank KB and an agent bound to it, with the ids it pointed at, in the
    # default group
    assert violations(account) == []
    bare = account.workspace("ws-bare")
    assert bare.group_id == "default"
    assert (
        account.knowledge_base("kb-bare").workspace_id,
        account.agent("agent-bare").knowledge_base_id,
    ) == ("ws-bare", "kb-bare")


# -- properties over random legacy accounts --------------------------------------------------------
_layouts = st.lists(
    st.tuples(st.integers(1, 3), st.lists(st.integers(0, 5), max_size=14)),
    min_size=1,
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(_layouts)
def test_backfill_properties_on_random_legacy_accounts(layout: list[tuple[int, list[int]]]) -> None:
    # Given any legacy account
    account = legacy_account(layout)
    linked = {c.id: c.knowledge_base_id for c in account.connections}
    twice = copy.deepcopy(account)
    ctx = context()

    # When it is hydrated (which runs the backfill)
    hydrate(account, ctx)

    # Then every invariant holds, every KB has an agent of its workspace, every agent-family connection
    # sits on an agent of the KB it was linked to, and statuses follow the rule
    assert violations(account) == []
    for kb in account.knowledge_bases:
        assert any(a.workspace_id == kb.workspace_id for a in account.agents_on_kb(kb.id))
    for connection in account.connections:
        if connection.family.agent_managed:
            assert account.agent(connection.agent_id or "").knowledge_base_id == linked[connection.id]
    for agent in account.agents:
        assert len(agent.connection_ids) <= 4
        complete = validate_kb_draft(account.knowledge_base(agent.knowledge_base_id).draft).is_complete
        expected = "draft" if not complete else ("active" if agent.connection_ids else "inactive")
        assert agent.status == expected
    # no KB got more agents than it needs: one, or one per 4 of its connections
    for kb in account.knowledge_bases:
        needed = max(
            1,
            -(-sum(1 for c in account.connections if c.family.agent_managed and linked[c.id] == kb.id) // 4),
        )
        assert len(account.agents_on_kb(kb.id)) == needed

    # And running the backfill N times equals running it once
    hydrate(twice, context())
    for _ in range(3):
        backfill_agents(twice, ctx)
    derive(twice)
    assert snapshot(twice) == snapshot(account)
