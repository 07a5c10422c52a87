"""Normalization of live-agents records (docs/api/live-agents.md "Normalization"), as tables; the
sync-state tracking every write runs; the sync plan. Pure functions, no AWS, no network."""

from __future__ import annotations

from typing import Any

import pytest

from ciq.contracts.entities import Connection, Family
from ciq.domain.account import Account
from ciq.domain.context import Context
from ciq.domain.defaults import initialize
from ciq.domain.derive import derive
from ciq.live_agents.normalize import UpstreamAgent, normalize_records, normalize_status
from ciq.live_agents.sync import Operation, plan_listing, plan_pending
from ciq.live_agents.tracking import MAX_AGENT_DELETIONS, AgentView, Baseline, track_changes

NOW = "2026-11-25T12:00:00.000Z"


def account() -> Account:
    """The defaults plus a second workspace `ws-2`/`kb-2`/`agent-2`, and connections in ws-1."""
    from ciq.contracts.entities import Profile
    from ciq.domain import defaults

    acc = Account(user_id="u-1", profile=Profile(user_id="u-1", email="u@example.com", created_at=NOW))
    ctx = Context("u-1", now=NOW)
    initialize(acc, ctx)
    defaults.add_workspace(
        acc, ctx, workspace_id="ws-2", name="Two", group_id="default", kb_id="kb-2", agent_id="agent-2"
    )
    acc.connections = [
        Connection(
            id=f"conn-{i}",
            workspace_id="ws-1",
            family=Family.WEB_CHAT,
            label=f"L{i}",
            agent_id="agent-default-1",
            created_at=NOW,
            updated_at=NOW,
        )
        for i in range(3)
    ] + [
        Connection(
            id="conn-social",
            workspace_id="ws-1",
            family=Family.SOCIAL_COMMENTS,
            platform="facebook",
            label="S",
            knowledge_base_id="kb-default-1",
            created_at=NOW,
            updated_at=NOW,
        )
    ]
    derive(acc)
    return acc


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("active", "active"),
        ("ACTIVE", "active"),
        (" Enabled ", "active"),
        ("live", "active"),
        ("On", "active"),
        ("RUNNING", "active"),
        ("inactive", "inactive"),
        ("Paused", "inactive"),
        ("disabled", "inactive"),
        ("OFF", "inactive"),
        ("stopped", "inactive"),
        ("In-Active", "inactive"),
        ("draft", "draft"),
        ("Pending", "draft"),
        ("setup", "draft"),
        ("Set-Up", "draft"),
        ("set up", "draft"),
        ("deprecated", "inactive"),
        ("", "inactive"),
        ("activ", "inactive"),
        (None, "inactive"),
        (1, "inactive"),
        (True, "inactive"),
        (["active"], "inactive"),
    ],
)
def test_status_strings_of_any_case_and_synonyms_map_onto_three_statuses(raw: Any, status: str) -> None:
    assert normalize_status(raw) == status


BASE = {
    "id": "agent-x",
    "name": "X",
    "workspaceId": "ws-1",
    "knowledgeBaseId": "kb-default-1",
    "status": "live",
}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # accepted, in the Agent shape
        (BASE, UpstreamAgent("agent-x", "X", "ws-1", "kb-default-1", "active", ())),
        (
            {
                "agent_id": "agent-x",
                "name": " X ",
                "workspace_id": "ws-1",
                "kb_id": "kb-default-1",
                "state": "off",
            },
            UpstreamAgent("agent-x", "X", "ws-1", "kb-default-1", "inactive", ()),
        ),
        ({**BASE, "status": None}, UpstreamAgent("agent-x", "X", "ws-1", "kb-default-1", "inactive", ())),
        (
            {**BASE, "channels": ["conn-0", {"id": "conn-1"}, {"connectionId": "conn-2"}, "conn-0"]},
            UpstreamAgent("agent-x", "X", "ws-1", "kb-default-1", "active", ("conn-0", "conn-1", "conn-2")),
        ),
        (
            {**BASE, "connectionIds": None},
            UpstreamAgent("agent-x", "X", "ws-1", "kb-default-1", "active", ()),
        ),
        (
            {**BASE, "extra": {"ignored": True}},
            UpstreamAgent("agent-x", "X", "ws-1", "kb-default-1", "active", ()),
        ),
        # refused, with the reason code
        ("agent-x", "not_an_object"),
        ({**BASE, "id": None}, "invalid_id"),
        ({**BASE, "id": "has space"}, "invalid_id"),
        ({**BASE, "id": 7}, "invalid_id"),
        ({**BASE, "name": "  "}, "invalid_name"),
        ({**BASE, "name": "n" * 121}, "invalid_name"),
        ({**BASE, "name": 5}, "invalid_name"),
        ({**BASE, "workspaceId": "ws-other-user"}, "outside_reference"),
        ({**BASE, "knowledgeBaseId": "kb-2"}, "outside_reference"),  # a KB of another workspace
        ({**BASE, "knowledgeBaseId": None}, "outside_reference"),
        ({**BASE, "channels": ["conn-social"]}, "outside_reference"),  # KB-owned family
        ({**BASE, "channels": ["conn-elsewhere"]}, "outside_reference"),
        (
            {**BASE, "workspaceId": "ws-2", "knowledgeBaseId": "kb-2", "channels": ["conn-0"]},
            "outside_reference",
        ),
        ({**BASE, "channels": ["c1", "c2", "c3", "c4", "c5"]}, "too_many_channels"),
        ({**BASE, "channels": "conn-0"}, "invalid_channels"),
        ({**BASE, "channels": [1]}, "invalid_channels"),
        ({**BASE, "channels": [{"name": "no id"}]}, "invalid_channels"),
    ],
)
def test_records_are_normalized_or_refused_with_a_reason(record: Any, expected: UpstreamAgent | str) -> None:
    accepted, rejected = normalize_records([record], account())
    if isinstance(expected, str):
        assert (accepted, [r.reason for r in rejected]) == ([], [expected])
    else:
        assert (accepted, rejected) == ([expected], [])


def test_over_four_channels_is_refused_before_their_references_are_checked() -> None:
    # Five channels of which none exists: the reason is the count (the rule the docs promise to log)
    _, rejected = normalize_records([{**BASE, "channels": [f"nope-{i}" for i in range(5)]}], account())
    assert rejected[0].reason == "too_many_channels"
    assert "5 channels" in rejected[0].message


def test_a_duplicate_id_keeps_the_first_record() -> None:
    accepted, rejected = normalize_records([BASE, {**BASE, "name": "Second"}], account())
    assert [a.name for a in accepted] == ["X"]
    assert [(r.agent_id, r.reason) for r in rejected] == [("agent-x", "duplicate_id")]


# -- tracking ----------------------------------------------------------------------------------------
def test_changed_and_new_agents_become_pending_and_unchanged_ones_keep_their_state() -> None:
    acc = account()
    for agent in acc.agents:
        agent.sync_state = "synced"
    before = Baseline.of(acc)
    acc.agents[0].name = "Renamed"
    acc.agents[1].updated_at = "2027-01-01T00:00:00.000Z"  # not part of what the service holds
    track_changes(before, acc)
    assert [(a.id, a.sync_state) for a in acc.agents] == [
        ("agent-default-1", "pending"),
        ("agent-2", "synced"),
    ]


def test_a_derived_change_counts_as_a_change() -> None:
    acc = account()
    acc.agents[0].sync_state = "failed"
    acc.agents[0].sync_error = "HTTP 422: no"
    before = Baseline.of(acc)
    acc.connections[0].agent_id = None  # one channel less
    acc.connections.pop(0)
    derive(acc)
    track_changes(before, acc)
    assert (acc.agents[0].sync_state, acc.agents[0].sync_error) == ("pending", None)


def test_removed_agents_the_service_may_hold_are_remembered_once() -> None:
    acc = account()
    acc.agents[1].sync_state = "synced"  # agent-2 was sent; agent-default-1 never was
    acc.agent_deletions = ["agent-old"]
    before = Baseline.of(acc)
    acc.agents = []
    track_changes(before, acc)
    assert acc.agent_deletions == ["agent-old", "agent-2"]


def test_a_recreated_id_is_no_longer_a_deletion() -> None:
    acc = account()
    acc.agent_deletions = ["agent-2", "agent-old"]
    before = Baseline.of(acc)
    track_changes(before, acc)
    assert acc.agent_deletions == ["agent-old"]


def test_the_deletion_backlog_is_bounded_oldest_first() -> None:
    acc = account()
    acc.agent_deletions = [f"agent-{i}" for i in range(MAX_AGENT_DELETIONS + 3)]
    forgotten = track_changes(Baseline.of(acc), acc)
    assert forgotten == ["agent-0", "agent-1"]  # agent-2 exists again: not a deletion, not counted
    assert len(acc.agent_deletions) == MAX_AGENT_DELETIONS


# -- plan --------------------------------------------------------------------------------------------
def test_the_plan_pushes_differences_settles_equals_imports_strangers_and_deletes_listed_deletions() -> None:
    acc = account()
    acc.agents[1].sync_state = "failed"  # refused before: not sent again until it changes
    acc.agent_deletions = ["agent-listed", "agent-gone"]
    equal = UpstreamAgent(
        **{**AgentView.of(acc.agents[0]).__dict__, "channels": AgentView.of(acc.agents[0]).channels}
    )
    stranger = UpstreamAgent("agent-new", "New", "ws-1", "kb-default-1", "active", ())
    deleted_still_there = UpstreamAgent("agent-listed", "Old", "ws-1", "kb-default-1", "active", ())

    plan = plan_listing(
        acc, [equal, stranger, deleted_still_there], {"agent-default-1", "agent-new", "agent-listed"}
    )

    assert [v.id for v in plan.settled] == ["agent-default-1"]
    assert plan.operations == [Operation("delete", "agent-listed")]
    assert [u.id for u in plan.imports] == ["agent-new"]
    assert plan.gone == ["agent-gone"]


def test_the_plan_after_a_write_puts_the_written_agent_first_then_everything_pending() -> None:
    acc = account()
    acc.agents[0].sync_state = "pending"
    acc.agents[1].sync_state = "pending"
    acc.agent_deletions = ["agent-old"]
    focus = Operation("put", "agent-2", AgentView.of(acc.agents[1]))
    plan = plan_pending(acc, focus)
    assert [(o.kind, o.agent_id) for o in plan.operations] == [
        ("put", "agent-2"),
        ("put", "agent-default-1"),
        ("delete", "agent-old"),
    ]
