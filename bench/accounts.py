"""The accounts measured, built through the domain and the store (not thousands of HTTP calls):
"typical" (3 workspaces of 3 KBs) and "large" (200 workspaces, 2,000 KBs, every draft filled in,
as in tests/integration/test_user_data_large.py). Built into a StubDynamoDB; its items are then
served as they are (stubbed runs) or copied into moto."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.environment import LambdaContext, api_event
from bench.stub import StubDynamoDB, installed

if TYPE_CHECKING:
    from collections.abc import Callable

WORDS = [
    *("friendly", "warm", "concise", "helpful", "expert", "playful", "formal", "booking", "demo"),
    *("discount", "order", "shipping", "refund", "appointment", "hours", "location", "menu"),
    *("pricing", "upgrade", "support", "contact", "weekend", "holiday", "question", "answer"),
]


@dataclass(frozen=True)
class Shape:
    name: str
    workspaces: int
    kbs_per_workspace: int

    @property
    def user_id(self) -> str:
        return f"u-bench-{self.name}"

    @property
    def edited_kb(self) -> str:
        """A KB in the middle of the account, the one a typical POST renames."""
        middle = max(1, self.workspaces * 3 // 4)
        return f"kb-{middle}-{self.kbs_per_workspace}"


TYPICAL = Shape("typical", 3, 3)
LARGE = Shape("large", 200, 10)


def _prose(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def full_draft(rng: random.Random) -> Any:
    """A KbDraftState with every field set (also used by tests/integration/test_user_data_large.py)."""
    from ciq.contracts.entities import CustomObjective, KbDraftState, MultiSelectValue

    fields = {
        name: MultiSelectValue(presets=[rng.choice(WORDS) for _ in range(3)], custom_text=_prose(rng, 60))
        for name in KbDraftState.model_fields
        if name != "custom_objectives"
    }
    objectives = [
        CustomObjective(id=f"obj-{i}", title=_prose(rng, 4), text=_prose(rng, 40)) for i in range(5)
    ]
    return KbDraftState(**fields, custom_objectives=objectives)


def build(shape: Shape, handler: Callable[[dict[str, Any], Any], Any], stub: StubDynamoDB) -> None:
    """Sign-up's root item, the first GET (which stores the defaults), then the workspaces and KBs,
    saved in transactions of at most 50 workspaces (DynamoDB allows 100 items per transaction)."""
    from ciq.contracts.entities import Profile
    from ciq.domain import defaults
    from ciq.domain.account import Account
    from ciq.domain.context import Context
    from ciq.domain.derive import derive
    from ciq.domain.invariants import violations
    from ciq.store import dynamo, user_store

    rng = random.Random(7)  # noqa: S311 - reproducible filler text, not security
    profile = Profile(
        user_id=shape.user_id,
        email=f"{shape.name}@example.com",
        first_name="Bench",
        last_name=shape.name.capitalize(),
        company="Example Inc.",
        phone="+15555550100",
        created_at="2026-01-01T00:00:00.000Z",
    )
    with installed(stub):
        dynamo.transact([user_store.new_user_item(Account(user_id=shape.user_id, profile=profile))])
        first = handler(api_event("user-data-get", shape.user_id), LambdaContext())
        assert first["statusCode"] == 200, first
        for chunk_start in range(0, shape.workspaces, 50):
            snapshot = user_store.load(shape.user_id)
            assert snapshot is not None
            account, ctx = snapshot.account, Context(shape.user_id)
            for index in range(chunk_start, min(chunk_start + 50, shape.workspaces)):
                if index == 0:
                    workspace = account.workspace("ws-1")
                else:
                    workspace = defaults.add_workspace(
                        account,
                        ctx,
                        workspace_id=f"ws-{index + 1}",
                        name=f"Workspace {index + 1}",
                        group_id="default",
                    )
                account.knowledge_base(workspace.default_kb_id).draft = full_draft(rng)
                for n in range(2, shape.kbs_per_workspace + 1):
                    defaults.add_knowledge_base(
                        account,
                        ctx,
                        workspace,
                        kb_id=f"kb-{index + 1}-{n}",
                        name=f"KB {n}",
                        draft=full_draft(rng),
                    )
            derive(account)
            assert violations(account) == [], violations(account)
            user_store.save(snapshot, account)
