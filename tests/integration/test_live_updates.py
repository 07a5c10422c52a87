"""Live updates on AWS (docs/api/live-updates.md): the ticket route, the WebSocket $connect and
$disconnect routes, and the stream-fed notifier, on moto with the sample events of events/."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from ciq.auth import clock
from tests.conftest import EVENTS, LambdaContext, api_event, invoke, load_function

if TYPE_CHECKING:
    from types import ModuleType

SOCKET_URL = "wss://f6g7h8i9j0.execute-api.us-east-1.amazonaws.com/test"
ENDPOINT = "https://f6g7h8i9j0.execute-api.us-east-1.amazonaws.com/test"


@pytest.fixture
def live(moto_table: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("LIVE_SOCKET_URL", SOCKET_URL)
    monkeypatch.setenv("LIVE_SOCKET_ENDPOINT", ENDPOINT)
    return load_function("live")


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return copy.deepcopy(event)


def ticket_for(live: ModuleType, user_id: str) -> dict[str, Any]:
    status, headers, answer = invoke(live, api_event("live-ticket", user_id=user_id))
    assert status == 201, answer
    assert headers["Cache-Control"] == "no-store"
    return answer  # type: ignore[no-any-return]


def connect(live: ModuleType, ticket: str | None, connection_id: str) -> int:
    event = sample("live-connect")
    event["queryStringParameters"] = None if ticket is None else {"ticket": ticket}
    event["requestContext"]["connectionId"] = connection_id
    return int(live.lambda_handler(event, LambdaContext())["statusCode"])


def disconnect(live: ModuleType, connection_id: str) -> int:
    event = sample("live-disconnect")
    event["requestContext"]["connectionId"] = connection_id
    return int(live.lambda_handler(event, LambdaContext())["statusCode"])


def connection_ids(user_id: str) -> set[str]:
    from ciq.store import live_store

    return {c.connection_id for c in live_store.connections(user_id)}


def test_a_ticket_names_the_socket_and_expires_in_a_minute(live: ModuleType) -> None:
    # Given a signed-in user / When they ask for a ticket
    answer = ticket_for(live, "u-ticket")
    # Then it is an opaque random string with its expiry and the WebSocket URL
    assert set(answer) == {"ticket", "expiresAt", "url"}
    assert answer["url"] == SOCKET_URL and len(answer["ticket"]) >= 43
    expires = clock.parse_iso(answer["expiresAt"]) - clock.now()
    assert timedelta(seconds=55) < expires <= timedelta(seconds=60)


def test_the_ticket_is_stored_hashed(live: ModuleType) -> None:
    import boto3

    from tests.conftest import TABLE_NAME

    ticket = ticket_for(live, "u-hashed")["ticket"]
    items = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    assert ticket not in json.dumps(items)


def test_no_socket_url_means_live_updates_are_off(live: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    from ciq.settings import reset_settings

    monkeypatch.setenv("LIVE_SOCKET_URL", "")
    reset_settings()
    status, _, answer = invoke(live, api_event("live-ticket", user_id="u-off"))
    assert (status, answer["error"]["code"]) == (503, "dependency_unavailable")


def test_a_ticket_opens_one_connection_once(live: ModuleType) -> None:
    # Given a ticket
    ticket = ticket_for(live, "u-once")["ticket"]
    # When it opens a connection, then the connection is recorded under its user
    assert connect(live, ticket, "conn-A=") == 200
    assert connection_ids("u-once") == {"conn-A="}
    # And the same ticket cannot open a second one
    assert connect(live, ticket, "conn-B=") == 401
    assert connection_ids("u-once") == {"conn-A="}


@pytest.mark.parametrize("ticket", [None, "", "not-a-ticket", "x" * 500])
def test_no_valid_ticket_no_connection(live: ModuleType, ticket: str | None) -> None:
    assert connect(live, ticket, "conn-X=") == 401


def test_an_expired_ticket_is_refused(live: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = ticket_for(live, "u-late")["ticket"]
    later = clock.now() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert connect(live, ticket, "conn-late=") == 401
    assert connection_ids("u-late") == set()


def test_disconnect_forgets_the_connection(live: ModuleType) -> None:
    assert connect(live, ticket_for(live, "u-bye")["ticket"], "conn-bye=") == 200
    assert disconnect(live, "conn-bye=") == 200
    assert connection_ids("u-bye") == set()
    assert disconnect(live, "conn-unknown=") == 200  # nothing to forget is no error


def test_a_keep_alive_message_is_accepted(live: ModuleType) -> None:
    event = sample("live-disconnect")
    event["requestContext"].update(routeKey="$default", eventType="MESSAGE")
    event["body"] = '{"type":"ping"}'
    assert live.lambda_handler(event, LambdaContext())["statusCode"] == 200


# -- the notifier -----------------------------------------------------------------------------------


def stream_event(*changes: tuple[str, str, str, int]) -> dict[str, Any]:
    """Records of the sample stream event: (eventName, pk, sk, version) each."""
    template = sample("live-notify-stream")["Records"][0]
    records = []
    for name, pk, sk, version in changes:
        record = copy.deepcopy(template)
        record["eventName"] = name
        record["dynamodb"]["Keys"] = {"pk": {"S": pk}, "sk": {"S": sk}}
        record["dynamodb"]["NewImage"].update(pk={"S": pk}, sk={"S": sk}, version={"N": str(version)})
        records.append(record)
    return {"Records": records}


def test_root_changes_keep_the_newest_version_of_each_account_and_nothing_else() -> None:
    from ciq.store.live_store import root_changes

    event = stream_event(
        ("MODIFY", "USER#a", "D#ROOT", 7),
        ("MODIFY", "USER#a", "D#ROOT", 9),
        ("INSERT", "USER#b", "D#ROOT", 0),
        ("MODIFY", "USER#c", "D#WS#ws-1", 4),  # a workspace item
        ("REMOVE", "USER#d", "D#ROOT", 3),  # an erased account
        ("INSERT", "USER#e", "S#session", 1),  # a session
        ("INSERT", "EMAIL#x", "D#ROOT", 1),  # not a user partition
    )
    assert root_changes(event["Records"]) == {"a": 9, "b": 0}


def test_a_notice_reaches_every_connection_of_its_user_and_no_one_else(live: ModuleType) -> None:
    from ciq.services import live as service

    # Given two connections of one user and one of another
    for user, connection in (("u-one", "one-1="), ("u-one", "one-2="), ("u-two", "two-1=")):
        assert connect(live, ticket_for(live, user)["ticket"], connection) == 200
    sent: list[tuple[str, bytes]] = []

    def post(connection_id: str, data: bytes) -> Any:
        sent.append((connection_id, data))
        return "gone" if connection_id == "one-2=" else "sent"

    # When the first user's account is written (version 8)
    counts = service.notify(live.store, {"u-one": 8}, post)
    # Then both of their connections get the version alone, the other user's none
    assert sorted(c for c, _ in sent) == ["one-1=", "one-2="]
    assert all(json.loads(data) == {"type": "changed", "version": 8} for _, data in sent)
    # And a connection API Gateway says is gone is forgotten
    assert (counts.sent, counts.gone) == (1, 1)
    assert connection_ids("u-one") == {"one-1="}
    assert connection_ids("u-two") == {"two-1="}


def test_a_connection_past_its_lifetime_is_not_posted_to_but_forgotten(
    live: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ciq.services import live as service

    assert connect(live, ticket_for(live, "u-old")["ticket"], "old=") == 200
    later = clock.now() + timedelta(hours=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    posted: list[str] = []
    service.notify(live.store, {"u-old": 2}, lambda c, _: posted.append(c) or "sent")
    assert posted == [] and connection_ids("u-old") == set()


def test_the_notifier_posts_through_the_management_api(live: ModuleType) -> None:
    # Given a connection (moto's @connections API accepts any id)
    assert connect(live, ticket_for(live, "u-stream")["ticket"], "stream-1=") == 200
    notifier = load_function("live_notify")
    # When the stream delivers the account's root write
    result = notifier.lambda_handler(stream_event(("MODIFY", "USER#u-stream", "D#ROOT", 3)), LambdaContext())
    # Then it completes (a failed batch would be retried by the mapping), the connection kept
    assert result == {}
    assert connection_ids("u-stream") == {"stream-1="}
