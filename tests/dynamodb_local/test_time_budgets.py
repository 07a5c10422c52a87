"""Time budgets on a real engine (issue 10 item 2): the largest requests the docs call valid finish
inside the user-data function's timeout (template.yaml: 10 s), with the budget's margin, on DynamoDB
Local. The handler runs with a context whose remaining time runs down like Lambda's; the measured
times are printed (`-s`) and reported in docs/ops/resilience.md "Time budgets"."""

from __future__ import annotations

import random
import string
import time
from typing import Any

import pytest

from ciq.contracts.base import BATCH_MAX, CUSTOM_TEXT_MAX
from tests.conftest import api_event, load_function
from tests.integration.conftest import create_user
from tests.integration.test_time_budgets import Context

pytestmark = pytest.mark.dynamodb_local

FUNCTION_TIMEOUT_SECONDS = 10.0
WORKSPACES = 98  # the most one import writes with an Idempotency-Key (docs/api/user-data.md)
DRAFT_FIELDS = ("brandPersonality", "primaryObjective", "greetings", "closing", "defaultCta")


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + " ") for _ in range(CUSTOM_TEXT_MAX))


def largest_import() -> dict[str, Any]:
    """98 workspaces, each with a KB whose five drafted fields hold the longest custom text (random,
    so it does not compress away): about 2.5 MB of JSON, the most one transaction takes comfortably."""
    rng = random.Random(10)
    workspaces = [{"id": f"ws-{i}", "name": f"Workspace {i}"} for i in range(1, WORKSPACES + 1)]
    kbs = [
        {
            "id": f"kb-{i}",
            "workspaceId": f"ws-{i}",
            "draft": {field: {"presets": [], "customText": _text(rng)} for field in DRAFT_FIELDS},
        }
        for i in range(1, WORKSPACES + 1)
    ]
    return {"data": {"schemaVersion": 2, "workspaces": workspaces, "knowledgeBases": kbs}}


def timed(event: dict[str, Any]) -> tuple[int, float]:
    started = time.monotonic()
    response = load_function("user_data").lambda_handler(event, Context(FUNCTION_TIMEOUT_SECONDS))
    return response["statusCode"], time.monotonic() - started


def test_the_largest_import_and_a_full_batch_finish_within_the_timeout(local_table: Any) -> None:
    # Given a new user on DynamoDB Local
    user_id = create_user()
    document = largest_import()

    # When the largest import is sent (with an Idempotency-Key: its answer is recorded too)
    status, import_seconds = timed(
        api_event("user-data-put", body=document, user_id=user_id, headers={"Idempotency-Key": "big-import"})
    )
    # Then it is stored, inside the timeout less the budget's margin
    assert status == 200
    assert import_seconds < FUNCTION_TIMEOUT_SECONDS - 1

    # When a full batch (25 new workspaces) is sent to that large account
    batch = {"mutations": [{"type": "workspace.create", "name": f"B{i}"} for i in range(BATCH_MAX)]}
    status, batch_seconds = timed(api_event("user-data-post", body=batch, user_id=user_id))
    # Then it is stored inside the timeout too
    assert status == 200
    assert batch_seconds < FUNCTION_TIMEOUT_SECONDS - 1
    print(f"\nlargest import {import_seconds:.2f} s, full batch on it {batch_seconds:.2f} s")
