"""The assignment rule for agent-managed connections (CONTRACT §3, §10): the starting agent (the
workspace's default) while it has room, else an agent of that agent's KB with room, else a new
`My Agent N` on that KB; restricted to one KB when a KB is named."""

from __future__ import annotations

import itertools

from ciq.contracts.entities import Connection, Family, Profile
from ciq.domain import defaults
from ciq.domain.account import Account
from ciq.domain.assignment import assign_agent, has_room
from ciq.domain.context import Context

NOW = "2026-01-01T00:00:00.000Z"


def setup() -> tuple[Account, Context]:
    counter = itertools.count(1)
    ctx = Context("u-1", now=NOW, new_id=lambda prefix: f"{prefix}-gen{next(counter)}")
    account = Account(user_id="u-1", profile=Profile(user_id="u-1", email="a@example.com", created_at=NOW))
    defaults.initialize(account, ctx)
    return account, ctx


def hold(account: Account, agent_id: str, count: int) -> None:
    """Gives `agent_id` `count` web-chat connections."""
    for _ in range(count):
        n = len(account.connections)
        account.connections.append(
            Connection(
                id=f"conn-{n}",
                workspace_id="ws-1",
                family=Family.WEB_CHAT,
                label=f"L{n}",
                agent_id=agent_id,
                created_at=NOW,
                updated_at=NOW,
            )
        )


def add_agent(account: Account, ctx: Context, agent_id: str, kb_id: str = "kb-default-1") -> None:
    defaults.add_agent(account, ctx, "ws-1", kb_id, agent_id=agent_id, name=agent_id)


def test_the_default_agent_takes_connections_while_it_has_room() -> None:
    account, ctx = setup()
    add_agent(account, ctx, "agent-other")  # created later, on the same KB
    hold(account, "agent-default-1", 3)
    assert assign_agent(account, ctx, "ws-1").id == "agent-default-1"
    assert len(account.agents) == 2


def test_a_full_default_goes_to_the_first_agent_of_its_kb_with_room() -> None:
    # Given a full default agent, an agent of another KB with room, and two agents of the default KB
    account, ctx = setup()
    defaults.add_knowledge_base(account, ctx, account.workspace("ws-1"), kb_id="kb-two")
    add_agent(account, ctx, "agent-other-kb", "kb-two")
    add_agent(account, ctx, "agent-full", "kb-default-1")
    add_agent(account, ctx, "agent-room", "kb-default-1")
    hold(account, "agent-default-1", 4)
    hold(account, "agent-full", 4)

    # When the rule picks an agent; Then the first agent of the default's KB with room
    assert assign_agent(account, ctx, "ws-1").id == "agent-room"


def test_when_every_agent_of_the_kb_is_full_a_new_agent_is_made_on_that_kb() -> None:
    account, ctx = setup()
    add_agent(account, ctx, "agent-b")
    hold(account, "agent-default-1", 4)
    hold(account, "agent-b", 4)

    new = assign_agent(account, ctx, "ws-1")

    assert new.id not in {"agent-default-1", "agent-b"}
    assert (new.name, new.knowledge_base_id, new.workspace_id) == ("My Agent 2", "kb-default-1", "ws-1")
    assert new in account.agents


def test_new_agent_names_take_the_lowest_free_number() -> None:
    account, ctx = setup()
    defaults.add_agent(account, ctx, "ws-1", "kb-default-1", agent_id="agent-x", name="My Agent 3")
    assert defaults.next_agent_name(account, "ws-1") == "My Agent 2"
    defaults.add_agent(account, ctx, "ws-1", "kb-default-1", agent_id="agent-y", name="My Agent 2")
    assert defaults.next_agent_name(account, "ws-1") == "My Agent 4"


def test_the_start_follows_the_default_agents_kb_not_the_workspace_default_kb() -> None:
    # Given the default agent moved to a second KB, and full
    account, ctx = setup()
    defaults.add_knowledge_base(account, ctx, account.workspace("ws-1"), kb_id="kb-two")
    account.agent("agent-default-1").knowledge_base_id = "kb-two"
    add_agent(account, ctx, "agent-on-default-kb", "kb-default-1")
    hold(account, "agent-default-1", 4)

    # When the rule runs; Then the new agent is on the default agent's KB (kb-two)
    new = assign_agent(account, ctx, "ws-1")
    assert new.knowledge_base_id == "kb-two"
    assert new.id != "agent-on-default-kb"


def test_a_named_kb_restricts_the_candidates() -> None:
    # Given a second KB with one agent with room
    account, ctx = setup()
    defaults.add_knowledge_base(account, ctx, account.workspace("ws-1"), kb_id="kb-two")
    add_agent(account, ctx, "agent-two", "kb-two")

    # When the rule is restricted to kb-two; Then its agent is chosen, not the default agent
    assert assign_agent(account, ctx, "ws-1", kb_id="kb-two").id == "agent-two"

    # And when that agent is full, a new agent is made on kb-two
    hold(account, "agent-two", 4)
    new = assign_agent(account, ctx, "ws-1", kb_id="kb-two")
    assert (new.knowledge_base_id, new.name) == ("kb-two", "My Agent 2")

    # And restricted to the default agent's own KB, the default agent is used first
    assert assign_agent(account, ctx, "ws-1", kb_id="kb-default-1").id == "agent-default-1"


def test_a_start_agent_other_than_the_default() -> None:
    account, ctx = setup()
    add_agent(account, ctx, "agent-target")
    assert assign_agent(account, ctx, "ws-1", start_agent_id="agent-target").id == "agent-target"


def test_the_connection_being_moved_does_not_count_against_capacity() -> None:
    account, ctx = setup()
    hold(account, "agent-default-1", 4)
    assert has_room(account, "agent-default-1") is False
    assert has_room(account, "agent-default-1", ignoring="conn-0") is True
    assert assign_agent(account, ctx, "ws-1", ignoring="conn-0").id == "agent-default-1"
