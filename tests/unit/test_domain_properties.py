"""Property: any sequence of mutations keeps every invariant (CONTRACT §2). Each step draws a
mutation that names ids of the current account (sometimes ids of another workspace, or unknown
ids), parses it like the API does and applies it as the write flow does. A refused mutation must be
a 4xx and is discarded (the flow never stores it); an accepted one must leave
`violations(account) == []`, derived fields that follow their rules, and data that survives the
store's split into records and back."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciq.contracts.base import BATCH_MAX
from ciq.contracts.entities import APPS_ORDER, Profile, UserData
from ciq.contracts.mutations import parse_mutations
from ciq.domain.account import Account
from ciq.domain.commands import APPLIERS
from ciq.domain.context import Context
from ciq.domain.derive import derive
from ciq.domain.hydrate import hydrate
from ciq.domain.invariants import violations
from ciq.domain.kb_validation import validate_kb_draft
from ciq.errors import AppError
from ciq.store.records import WorkspaceRecord, assemble, root_record, workspace_records

START = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = ("brandPersonality", "primaryObjective", "greetings", "closing", "defaultCta", "emojis")
LABELS = ["", "Support", "support", " Sales  team ", "Profile 1"]
NAMES = ["A", "B", "My Workspace", "x" * 120]


def _ids(items: list[Any]) -> list[str]:
    return [item.id for item in items]


def _pick(draw: Any, ids: list[str], unknown: str) -> str:
    """Mostly an existing id (of any workspace); one time in ten an unknown one (404 paths)."""
    if not ids or draw(st.integers(0, 9)) == 0:
        return unknown
    return draw(st.sampled_from(ids))


def _optional(draw: Any, fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if draw(st.booleans())}


@st.composite
def mutation_for(draw: Any, account: Account) -> dict[str, Any]:
    ws = _ids(account.workspaces)
    kbs = _ids(account.knowledge_bases)
    agents = _ids(account.agents)
    conns = _ids(account.connections)
    groups = _ids(account.groups)
    value = st.sampled_from([None, {"presets": ["p"], "customText": ""}, {"presets": [], "customText": " "}])
    kind = draw(
        st.sampled_from(
            [
                "profile.update",
                "group.create",
                "group.update",
                "group.delete",
                "workspace.create",
                "workspace.update",
                "workspace.duplicate",
                "workspace.delete",
                "workspace.reorder",
                "knowledgeBase.create",
                "knowledgeBase.update",
                "knowledgeBase.update",
                "knowledgeBase.delete",
                "agent.create",
                "agent.update",
                "agent.update",
                "agent.delete",
                "connection.create",
                "connection.create",
                "connection.create",
                "connection.create",
                "connection.update",
                "connection.update",
                "connection.delete",
                "nodePositions.set",
            ]
        )
    )
    m: dict[str, Any] = {"type": kind}
    if kind == "profile.update":
        m["company"] = draw(st.sampled_from(NAMES))
    elif kind == "group.create":
        m["name"] = draw(st.sampled_from(NAMES))
    elif kind == "group.update":
        m.update(groupId=_pick(draw, groups, "grp-x"), name="G")
    elif kind == "group.delete":
        m["groupId"] = _pick(draw, groups, "grp-x")
    elif kind == "workspace.create":
        m.update(
            name=draw(st.sampled_from(NAMES)), **_optional(draw, {"groupId": _pick(draw, groups, "grp-x")})
        )
    elif kind == "workspace.update":
        m.update(
            workspaceId=_pick(draw, ws, "ws-x"),
            **_optional(
                draw,
                {
                    "name": "Renamed",
                    "groupId": _pick(draw, groups, "grp-x"),
                    "defaultKbId": _pick(draw, kbs, "kb-x"),
                    "defaultAgentId": _pick(draw, agents, "agent-x"),
                },
            ),
        )
    elif kind in ("workspace.duplicate", "workspace.delete"):
        m["workspaceId"] = _pick(draw, ws, "ws-x")
    elif kind == "workspace.reorder":
        m["workspaceIds"] = draw(st.permutations(ws)) if draw(st.booleans()) else ws[:-1] or ["ws-x"]
    elif kind == "knowledgeBase.create":
        m.update(
            workspaceId=_pick(draw, ws, "ws-x"),
            **_optional(draw, {"draft": {f: draw(value) for f in FIELDS}}),
        )
    elif kind == "knowledgeBase.update":
        m.update(
            knowledgeBaseId=_pick(draw, kbs, "kb-x"),
            draft={f: draw(value) for f in draw(st.sets(st.sampled_from(FIELDS), min_size=1))},
            **_optional(draw, {"groupId": _pick(draw, groups, "grp-x")}),
        )
    elif kind == "knowledgeBase.delete":
        m["knowledgeBaseId"] = _pick(draw, kbs, "kb-x")
    elif kind == "agent.create":
        m.update(workspaceId=_pick(draw, ws, "ws-x"), knowledgeBaseId=_pick(draw, kbs, "kb-x"), name="Agent")
    elif kind == "agent.update":
        m.update(
            agentId=_pick(draw, agents, "agent-x"),
            **_optional(
                draw,
                {
                    "knowledgeBaseId": _pick(draw, kbs, "kb-x"),
                    "status": draw(st.sampled_from(["active", "inactive"])),
                },
            ),
        )
    elif kind == "agent.delete":
        m["agentId"] = _pick(draw, agents, "agent-x")
    elif kind == "connection.create":
        family = draw(
            st.sampled_from(
                [
                    "social-comments",
                    "review-platforms",
                    "web-chat",
                    "web-chat",
                    "facebook-messenger",
                    "whatsapp",
                    "sms",
                ]
            )
        )
        m.update(workspaceId=_pick(draw, ws, "ws-x"), family=family, label=draw(st.sampled_from(LABELS)))
        if family == "social-comments":
            m["platform"] = draw(st.sampled_from(["facebook", "instagram"]))
        elif family == "review-platforms":
            m["platform"] = "google"
        elif family in ("whatsapp", "sms"):
            m["phoneNumber"] = "+14155550100"
        m.update(_optional(draw, {"knowledgeBaseId": _pick(draw, kbs, "kb-x")}))
        if draw(st.integers(0, 3)) == 0:
            m["agentId"] = _pick(draw, agents, "agent-x")
    elif kind == "connection.update":
        m.update(
            connectionId=_pick(draw, conns, "conn-x"),
            **_optional(
                draw,
                {
                    "label": draw(st.sampled_from(LABELS)),
                    "active": draw(st.booleans()),
                    "knowledgeBaseId": _pick(draw, kbs, "kb-x"),
                    "agentId": _pick(draw, agents, "agent-x"),
                },
            ),
        )
    elif kind == "connection.delete":
        m["connectionId"] = _pick(draw, conns, "conn-x")
    else:
        m.update(workspaceId=_pick(draw, ws, "ws-x"), positions={"n": {"x": 1, "y": 2}})
    return m


def check_derived(account: Account) -> None:
    """Derived fields follow their rules (CONTRACT §1, §2.6)."""
    for kb in account.knowledge_bases:
        complete = validate_kb_draft(kb.draft).is_complete
        assert kb.status == ("complete" if complete else "incomplete")
        assert kb.agents_set_count == len(account.agents_on_kb(kb.id))
    for agent in account.agents:
        mine = account.connections_of_agent(agent.id)
        assert agent.connection_ids == [c.id for c in mine]
        assert len(mine) <= 4
        complete = account.knowledge_base(agent.knowledge_base_id).status == "complete"
        expected = (
            "draft"
            if not complete
            else "inactive"
            if agent.paused or not any(c.active for c in mine)
            else "active"
        )
        assert agent.status == expected
    for workspace in account.workspaces:
        families = {c.family for c in account.connections_of(workspace.id)}
        apps = {f.app for f in families}
        assert workspace.connected_apps == [a for a in APPS_ORDER if a in apps]
        assert workspace.apps_activated is bool(apps)
        assert workspace.number_of_knowledge_bases == len(account.kbs_of(workspace.id))
    for connection in account.connections:
        if connection.family.agent_managed:
            assert connection.knowledge_base_id == account.agent(connection.agent_id or "").knowledge_base_id
        assert 1 <= len(connection.label) <= 80
        assert connection.label.lower() not in {
            o.label.lower()
            for o in account.connections
            if o.id != connection.id
            and (o.workspace_id, o.family, o.platform)
            == (connection.workspace_id, connection.family, connection.platform)
        }


def stored_and_read_back(account: Account) -> Account:
    """What the store writes (root + one record per workspace, derived fields dropped) and reads."""
    records = [
        WorkspaceRecord.model_validate_json(record.to_json_bytes())
        for record in workspace_records(account).values()
    ]
    root = type(root_record(account, {})).model_validate_json(root_record(account, {}).model_dump_json())
    again = assemble(account.user_id, root, records)
    hydrate(again, Context(account.user_id))
    return again


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_mutation_sequences_keep_every_invariant(data: st.DataObject) -> None:
    # Given a new account with its defaults
    counter = itertools.count(1)
    account = Account(user_id="u-1", profile=Profile(user_id="u-1", email="a@example.com", created_at="x"))
    hydrate(account, Context("u-1", now="2026-01-01T00:00:00.000Z"))
    accepted = 0
    for step in range(data.draw(st.integers(5, 40), label="steps")):
        # When a mutation is drawn for the current account and applied by its applier alone (not
        # Account.apply, whose invariant check would turn a broken rule into a refusal here)
        raw = data.draw(mutation_for(account), label=f"mutation {step}")
        now = (START + timedelta(seconds=step + 1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        ctx = Context("u-1", now=now, new_id=lambda prefix: f"{prefix}-g{next(counter)}")
        candidate = copy.deepcopy(account)
        try:
            [mutation], _ = parse_mutations(raw, BATCH_MAX)
            hydrate(candidate, ctx)
            APPLIERS.apply(candidate, ctx, mutation)
        except AppError as error:
            # Then a refusal is a client error, never a 5xx, and the account is not changed
            assert 400 <= error.status < 500, (raw, error.code, error.message)
            continue
        derive(candidate)

        # Then an accepted mutation keeps every invariant and every derived rule
        assert violations(candidate) == [], raw
        check_derived(candidate)
        # and the data is valid API output that the store reads back unchanged
        UserData.model_validate_json(candidate.to_user_data().model_dump_json())
        assert stored_and_read_back(candidate).to_user_data() == candidate.to_user_data(), raw
        account = candidate
        accepted += 1
    assert account.workspaces
