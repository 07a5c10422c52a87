"""The live-agents client's rules where the network is not the point (httpx.MockTransport): which
answers are accepted, rejected or unavailable, which calls are retried, the reason kept from a
rejection, the settings it reads. The fallback triggers over a real socket are in
tests/integration/test_live_agents.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from ciq.live_agents import client
from ciq.live_agents.tracking import AgentView
from ciq.settings import MisconfiguredError, get_settings, reset_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

VIEW = AgentView("agent-1", "ws-1", "kb-1", "A", "draft", ())


@pytest.fixture
def transport(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[Callable[[httpx.Request], httpx.Response]], list[httpx.Request]]]:
    monkeypatch.setenv("LIVE_AGENTS_API_URL", "https://agents.example.com/v1")
    monkeypatch.delenv("LIVE_AGENTS_API_KEY_PARAM", raising=False)
    reset_settings()

    def install(answer: Callable[[httpx.Request], httpx.Response]) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return answer(request)

        http = httpx.Client(
            base_url=get_settings().live_agents_api_url, transport=httpx.MockTransport(handler)
        )
        monkeypatch.setattr(client, "_http", lambda: http)
        return seen

    yield install
    client.reset_client()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "accepted"),
        (201, "accepted"),
        (204, "accepted"),
        (400, "rejected"),
        (409, "rejected"),
        (422, "rejected"),
        (404, "rejected"),
        (408, "unavailable"),
        (429, "unavailable"),
        (500, "unavailable"),
        (503, "unavailable"),
        (302, "unavailable"),
    ],
)
def test_put_verdicts(transport, status: int, outcome: str) -> None:
    transport(lambda _: httpx.Response(status, json={"error": {"message": "nope"}}))
    if outcome == "unavailable":
        with pytest.raises(client.Unavailable):
            client.put_agent("u-1", VIEW, client.Budget(1))
    else:
        assert client.put_agent("u-1", VIEW, client.Budget(1)).outcome == outcome


def test_a_delete_of_something_already_gone_is_done(transport) -> None:
    transport(lambda _: httpx.Response(404))
    assert client.delete_agent("u-1", "agent-1", client.Budget(1)).outcome == "accepted"


def test_the_path_and_body_follow_the_contract(transport) -> None:
    seen = transport(lambda _: httpx.Response(200, json={}))
    client.put_agent("u/1", VIEW, client.Budget(1))
    assert seen[0].method == "PUT"
    assert str(seen[0].url) == "https://agents.example.com/v1/users/u%2F1/agents/agent-1"
    assert seen[0].read() == (
        b'{"id":"agent-1","userId":"u/1","workspaceId":"ws-1","knowledgeBaseId":"kb-1","name":"A",'
        b'"status":"draft","channels":[]}'
    )
    assert "authorization" not in seen[0].headers  # no key parameter configured


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"error": {"message": "name\\n  is taken"}}', "HTTP 422: name is taken"),
        (b'{"error": "bad agent"}', "HTTP 422: bad agent"),
        (b'{"message": "too long"}', "HTTP 422: too long"),
        (b"<html>", "HTTP 422: rejected without a reason"),
        (b'{"error": {"message": "' + b"x" * 500 + b'"}}', "HTTP 422: " + "x" * client.REASON_MAX),
    ],
)
def test_the_reason_of_a_rejection_is_kept_short_and_printable(transport, body: bytes, reason: str) -> None:
    transport(lambda _: httpx.Response(422, content=body))
    assert client.put_agent("u-1", VIEW, client.Budget(1)).reason == reason


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_idempotent_calls_are_retried_once_after_a_5xx(transport, method: str) -> None:
    seen = transport(
        lambda r: httpx.Response(503) if len(seen) == 1 else httpx.Response(200, json={"agents": []})
    )
    call = {
        "GET": lambda: client.list_agents("u-1", client.Budget(1)),
        "PUT": lambda: client.put_agent("u-1", VIEW, client.Budget(1)),
        "DELETE": lambda: client.delete_agent("u-1", "agent-1", client.Budget(1)),
    }[method]
    call()
    assert [r.method for r in seen] == [method, method]


def test_a_post_is_never_retried(transport) -> None:
    seen = transport(lambda _: httpx.Response(503))
    assert client._send("POST", "/x", client.Budget(1)) == (503, b"")
    assert len(seen) == 1


def test_retries_are_bounded(transport) -> None:
    seen = transport(lambda _: httpx.Response(503))
    with pytest.raises(client.Unavailable, match="http_503"):
        client.list_agents("u-1", client.Budget(1))
    assert len(seen) == client.MAX_ATTEMPTS


def test_a_429_is_not_retried(transport) -> None:
    seen = transport(lambda _: httpx.Response(429))
    with pytest.raises(client.Unavailable, match="http_429"):
        client.list_agents("u-1", client.Budget(1))
    assert len(seen) == 1


def test_a_spent_budget_sends_nothing(transport) -> None:
    seen = transport(lambda _: httpx.Response(200, json={"agents": []}))
    with pytest.raises(client.Unavailable, match="timeout"):
        client.list_agents("u-1", client.Budget(0))
    assert seen == []


def test_a_body_over_the_limit_is_unavailable(transport, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "MAX_BODY_BYTES", 10)
    transport(lambda _: httpx.Response(200, content=b'{"agents": [], "padding": "....."}'))
    with pytest.raises(client.Unavailable, match="body_too_large"):
        client.list_agents("u-1", client.Budget(1))


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("", True),
        ("https://agents.example.com/v1/", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:9", True),
        ("http://agents.example.com", False),
        ("ftp://x", False),
        ("https://agents.example.com?x=1", False),
        ("https://user:pw@agents.example.com", False),
    ],
)
def test_the_url_must_be_https_or_loopback(monkeypatch: pytest.MonkeyPatch, url: str, ok: bool) -> None:
    monkeypatch.setenv("LIVE_AGENTS_API_URL", url)
    reset_settings()
    if ok:
        assert get_settings().live_agents_api_url == url.rstrip("/")
    else:
        with pytest.raises(MisconfiguredError):
            get_settings()


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIVE_AGENTS_API_URL", "LIVE_AGENTS_API_KEY_PARAM", "LIVE_AGENTS_TIMEOUT_MS"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    settings = get_settings()
    assert (
        settings.live_agents_api_url,
        settings.live_agents_api_key_param,
        settings.live_agents_timeout_ms,
    ) == ("", "", 2000)
    assert client.configured() is False
