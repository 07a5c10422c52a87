"""A write whose reply is lost lands exactly once, on DynamoDB Local (issue 10 item 1): the moto
fault tests of tests/integration/test_unknown_outcome_writes.py on a real engine, which may or may
not honour botocore's ClientRequestToken; the write flow's commit token must not care."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import load_function
from tests.integration.conftest import Client, SetupClient, create_user
from tests.integration.live_agents_support import LiveClient
from tests.integration.test_unknown_outcome_writes import FAULTS, ROUTES, landed_once, reply_lost_once

pytestmark = pytest.mark.dynamodb_local


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_write_whose_reply_is_lost_lands_exactly_once_on_dynamodb_local(
    local_table: Any, route: str, fault: str
) -> None:
    from ciq.live_agents.client import reset_client

    reset_client()
    user_id = create_user()
    data = Client(load_function("user_data"), user_id)
    setup = SetupClient(load_function("setup_status"), user_id)
    live = LiveClient(load_function("live_agents"), user_id)
    # Given a user's data (with a second agent for the DELETE)
    if route == "live-agents DELETE":
        data.ok(
            {
                "type": "agent.create",
                "id": "agent-second",
                "workspaceId": "ws-1",
                "knowledgeBaseId": "kb-default-1",
                "name": "Second",
            }
        )
    before, version = data.data()
    call, success = ROUTES[route]
    # When the route's write commits and its reply is lost once
    with reply_lost_once(fault) as fired:
        status, body = call(data, setup, live)
    # Then the client got the success answer and the change is stored once, in one new version
    assert fired == [1]
    assert status == success, body
    after, new_version = data.data()
    assert new_version == version + 1
    landed_once(route, before, after)
