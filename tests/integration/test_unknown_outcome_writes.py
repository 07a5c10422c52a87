"""A write whose reply is lost lands exactly once (issue 10 item 1; docs/architecture/persistence-model.md
"Unknown outcomes"). moto ignores DynamoDB's ClientRequestToken, so without the write flow's own
commit token a lost reply was applied twice: botocore resent the committed transaction, it failed
its version condition, and the flow re-applied the change on the new version.

Two faults, injected with botocore event hooks on the store's client, on every write route:
- `resent`: the transaction commits, and botocore is told to retry it anyway (a reply lost on the
  wire); the resent request meets its own commit.
- `timeout`: the transaction commits, and the reply is replaced by a read timeout."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import load_function
from tests.integration.conftest import Client, SetupClient, create_user
from tests.integration.live_agents_support import LiveClient

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

FAULTS = ["resent", "timeout"]


@contextmanager
def reply_lost_once(fault: str) -> Iterator[list[int]]:
    """The next TransactWriteItems that commits loses its reply (once); yields the count of faults."""
    from botocore.exceptions import ReadTimeoutError

    from ciq.store.clients import dynamodb

    events, fired = dynamodb().meta.events, []

    def resend(response: Any, caught_exception: Any, **_: Any) -> int | None:
        if not fired and caught_exception is None and response is not None and response[0].status_code == 200:
            fired.append(1)
            return 0  # "retry now": botocore sends the committed request again
        return None

    def time_out(http_response: Any, **_: Any) -> None:
        if not fired and http_response.status_code == 200:
            fired.append(1)
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    event, handler = (
        ("needs-retry.dynamodb.TransactWriteItems", resend)
        if fault == "resent"
        else ("after-call.dynamodb.TransactWriteItems", time_out)
    )
    events.register(event, handler, unique_id="test-reply-lost")
    try:
        yield fired
    finally:
        events.unregister(event, unique_id="test-reply-lost")


@pytest.fixture
def clients(moto_table: None) -> tuple[Client, SetupClient, LiveClient]:
    from ciq.live_agents.client import reset_client

    reset_client()
    user_id = create_user()
    user_data, setup_status, live_agents = (
        load_function(n) for n in ("user_data", "setup_status", "live_agents")
    )
    return Client(user_data, user_id), SetupClient(setup_status, user_id), LiveClient(live_agents, user_id)


def _version(data: Client) -> int:
    return data.data()[1]


def _agents(data: Client) -> list[dict[str, Any]]:
    return list(data.data()[0]["agents"])


def _user_data_post(data: Client, _s: SetupClient, _l: LiveClient) -> tuple[int, Any]:
    status, _, body = data.post({"type": "workspace.create", "name": "Once"})
    return status, body


def _user_data_put(data: Client, _s: SetupClient, _l: LiveClient) -> tuple[int, Any]:
    document = {"data": {"schemaVersion": 2, "workspaces": [{"id": "ws-imported", "name": "Imported"}]}}
    status, _, body = data.put(document)
    return status, body


def _setup_status_patch(_d: Client, setup: SetupClient, _l: LiveClient) -> tuple[int, Any]:
    status, _, body = setup.patch({"type": "addConnection", "family": "web-chat", "label": "Once"})
    return status, body


def _live_agents_post(data: Client, _s: SetupClient, live: LiveClient) -> tuple[int, Any]:
    status, _, body = live.create({"workspaceId": "ws-1", "knowledgeBaseId": "kb-default-1", "name": "Once"})
    return status, body


def _live_agents_patch(_d: Client, _s: SetupClient, live: LiveClient) -> tuple[int, Any]:
    status, _, body = live.update("agent-default-1", {"name": "Renamed once"})
    return status, body


def _live_agents_delete(data: Client, _s: SetupClient, live: LiveClient) -> tuple[int, Any]:
    status, _, body = live.delete("agent-second")
    return status, body


def landed_once(route: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    """The route's change is in the data exactly once."""
    if route == "user-data POST":
        assert [w["name"] for w in after["workspaces"]].count("Once") == 1
    elif route == "user-data PUT":
        assert [w["id"] for w in after["workspaces"]] == ["ws-imported"]
    elif route == "setup-status PATCH":
        assert [c["label"] for c in after["connections"]].count("Once") == 1
    elif route == "live-agents POST":
        assert [a["name"] for a in after["agents"]].count("Once") == 1
    elif route == "live-agents PATCH":
        assert [a["name"] for a in after["agents"]].count("Renamed once") == 1
    elif route == "live-agents DELETE":
        assert "agent-second" in {a["id"] for a in before["agents"]}
        assert "agent-second" not in {a["id"] for a in after["agents"]}


ROUTES: dict[str, tuple[Callable[[Client, SetupClient, LiveClient], tuple[int, Any]], int]] = {
    "user-data POST": (_user_data_post, 200),
    "user-data PUT": (_user_data_put, 200),
    "setup-status PATCH": (_setup_status_patch, 200),
    "live-agents POST": (_live_agents_post, 201),
    "live-agents PATCH": (_live_agents_patch, 200),
    "live-agents DELETE": (_live_agents_delete, 200),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_write_whose_reply_is_lost_lands_exactly_once_and_answers_success(
    clients: tuple[Client, SetupClient, LiveClient], route: str, fault: str
) -> None:
    data, setup, live = clients
    # Given a user's data (with a second agent for the DELETE), stored and read
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
    # When the route's write commits and its reply is lost once (no Idempotency-Key)
    with reply_lost_once(fault) as fired:
        status, body = call(data, setup, live)
    # Then the fault happened, the client got the write's own success answer, and the change is
    # stored exactly once, in exactly one new version
    assert fired == [1]
    assert status == success, body
    after, new_version = data.data()
    assert new_version == version + 1
    landed_once(route, before, after)


def test_a_write_that_did_not_commit_is_still_retried_or_refused(
    clients: tuple[Client, SetupClient, LiveClient], user_data: ModuleType
) -> None:
    # Given a transaction that times out before it was applied (the request never reached DynamoDB)
    from botocore.exceptions import ConnectTimeoutError

    from ciq.store.clients import dynamodb

    data, _, _ = clients
    _, version = data.data()

    def refuse(**_: Any) -> None:
        raise ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    events = dynamodb().meta.events
    events.register("before-send.dynamodb.TransactWriteItems", refuse, unique_id="test-no-send")
    try:
        status, headers, body = data.post({"type": "workspace.create", "name": "Never"})
    finally:
        events.unregister("before-send.dynamodb.TransactWriteItems", unique_id="test-no-send")
    # Then the token check finds another version's token: 503 with Retry-After, nothing stored
    assert (status, body["error"]["code"], headers["Retry-After"]) == (503, "dependency_unavailable", "1")
    assert data.data()[1] == version


def test_a_lost_reply_is_recognized_even_after_other_writes_landed(client: Client) -> None:
    # Given a write that committed with its token, and two more writes by others right after it
    # (they landed before the first one's "did it land?" check could run)
    from ciq.store import user_store

    client.data()
    first = user_store.load(client.user_id)
    assert first is not None
    user_store.save(first, first.account, commit_token="first-write")
    for token in ("second-write", "third-write"):
        later = user_store.load(client.user_id)
        assert later is not None
        user_store.save(later, later.account, commit_token=token)
    # When the first write asks whether it landed; Then yes (its token is among the recent ones),
    # so it answers its success instead of a 503 or applying itself again
    assert user_store.committed(client.user_id, "first-write")
    assert user_store.committed(client.user_id, "third-write")
    # And a write that never landed is told so
    assert not user_store.committed(client.user_id, "never-written")
