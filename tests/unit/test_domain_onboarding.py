"""Get Started as pure rules (ciq.domain.onboarding): target resolution, the derived setup status,
and the session-scoped lifecycle facts, on an in-memory account (CONTRACT §4 `/api/setup-status`,
§9 "Setup status", §10 "Onboarding")."""

from __future__ import annotations

import itertools

import pytest

from ciq.contracts import setup_status as s
from ciq.contracts.entities import Family, KbDraftState, Profile
from ciq.domain import defaults, onboarding
from ciq.domain.account import Account
from ciq.domain.context import Context
from ciq.domain.derive import derive
from ciq.domain.invariants import violations
from ciq.errors import InvariantViolation

NOW = "2026-01-01T00:00:00.000Z"
COMPLETE = {
    name: {"presets": ["x"], "customText": ""}
    for name in ("brandPersonality", "primaryObjective", "greetings", "closing", "defaultCta")
}


def setup() -> tuple[Account, Context]:
    counter = itertools.count(1)
    ctx = Context("u-1", now=NOW, new_id=lambda prefix: f"{prefix}-gen{next(counter)}")
    account = Account(user_id="u-1", profile=Profile(user_id="u-1", email="a@example.com", created_at=NOW))
    defaults.initialize(account, ctx)
    return account, ctx


def apply(account: Account, ctx: Context, payload: dict, session_id: str = "sess-a") -> s.SetupStatus:
    ctx.session_id = session_id
    account.apply(ctx, s.parse_setup_mutation(payload))
    derive(account)
    assert violations(account) == []
    return onboarding.setup_status(account, session_id)


def test_resolving_a_complete_target_changes_nothing() -> None:
    # Given the defaults; When the target is resolved; Then it is the canonical ids and nothing is added
    account, ctx = setup()
    before = account.to_user_data()
    assert onboarding.resolve_target(account, ctx) == onboarding.Target()
    assert account.to_user_data() == before


def test_each_missing_part_is_added_alone() -> None:
    # Given ws-1 without kb-default-1 and agent-default-1 (another KB and agent hold its defaults)
    account, ctx = setup()
    workspace = account.workspace("ws-1")
    defaults.add_knowledge_base(account, ctx, workspace, kb_id="kb-other")
    defaults.add_agent(account, ctx, "ws-1", "kb-other", agent_id="agent-other", name="Other")
    workspace.default_kb_id, workspace.default_agent_id = "kb-other", "agent-other"
    account.knowledge_bases = [kb for kb in account.knowledge_bases if kb.id != "kb-default-1"]
    account.agents = [a for a in account.agents if a.id != "agent-default-1"]

    # When the target is resolved
    onboarding.resolve_target(account, ctx)

    # Then the KB and the agent are back with their canonical names, the workspace keeps its defaults
    assert [kb.id for kb in account.kbs_of("ws-1")] == ["kb-other", "kb-default-1"]
    recreated = account.agent("agent-default-1")
    assert (recreated.name, recreated.knowledge_base_id) == ("My Agent", "kb-default-1")
    assert (workspace.default_kb_id, workspace.default_agent_id) == ("kb-other", "agent-other")
    assert len(account.workspaces) == 1


def test_a_canonical_id_held_by_another_entity_refuses_resolution() -> None:
    # Given a group that was imported with the id kb-default-1 while the KB itself is gone
    account, ctx = setup()
    account.knowledge_bases.clear()
    account.groups.append(account.groups[0].model_copy(update={"id": "kb-default-1"}))

    # When the target is resolved, Then 409 names the id and nothing is added
    with pytest.raises(InvariantViolation) as raised:
        onboarding.resolve_target(account, ctx)
    assert "'kb-default-1'" in raised.value.details[0].message
    assert account.knowledge_bases == []


def test_progress_counts_the_three_steps() -> None:
    # Given a selection, a connection and a complete target KB, added one by one
    account, ctx = setup()
    steps = [onboarding.setup_status(account, "sess-a").progress.completed_steps]
    steps.append(
        apply(account, ctx, {"type": "selectChannelTypes", "channelTypes": ["sms"]}).progress.completed_steps
    )
    steps.append(
        apply(account, ctx, {"type": "addConnection", "family": "web-chat"}).progress.completed_steps
    )
    account.knowledge_base("kb-default-1").draft = KbDraftState.model_validate(COMPLETE)
    steps.append(onboarding.setup_status(account, "sess-a").progress.completed_steps)

    # Then each one counts once
    assert steps == [0, 1, 2, 3]


def test_visibility_is_the_and_of_three_facts_one_of_them_per_session() -> None:
    # Given a session that dismissed Get Started
    account, ctx = setup()
    apply(account, ctx, {"type": "dismissForSession"}, "sess-a")

    # Then it is hidden there only
    assert onboarding.setup_status(account, "sess-a").show_get_started is False
    assert onboarding.setup_status(account, "sess-b").show_get_started is True
    # And the stored selection is a set in catalog order
    status = apply(account, ctx, {"type": "selectChannelTypes", "channelTypes": ["sms", "web-chat"]})
    assert status.selected_channel_types == [Family.WEB_CHAT, Family.SMS]
