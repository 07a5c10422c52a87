"""Business metrics: each handler prints the invocation's events as one CloudWatch EMF line on stdout
(Powertools Metrics, flushed by `ciq.metrics.flushed`); CloudWatch Logs turns it into metrics.
The tests read what the real handlers print, on moto."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.metrics import Metrics

from ciq import metrics
from tests.conftest import LambdaContext, api_event, invoke, load_function
from tests.integration.conftest import COMPLETE_DRAFT, create_user

if TYPE_CHECKING:
    from types import ModuleType

NAMESPACE = "ConversionIQ"


class Emf:
    """What the handlers printed since the last `lines()` call, as parsed EMF documents."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def lines(self) -> list[dict[str, Any]]:
        out = self.capsys.readouterr().out
        documents = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
        for document in documents:
            # The contract of every line: our namespace, the service as the only dimension.
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == NAMESPACE
            assert directive["Dimensions"] == [["service"]]
            assert all(m["Unit"] == "Count" for m in directive["Metrics"])
        return documents

    def counts(self) -> dict[str, float]:
        """Metric name -> total count over everything printed since the last call."""
        totals: dict[str, float] = {}
        for document in self.lines():
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                values = document[metric["Name"]]
                total = sum(values) if isinstance(values, list) else values
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + total
        return totals


@pytest.fixture
def emf(capsys: pytest.CaptureFixture[str]) -> Emf:
    metrics.flush()  # anything a direct service call in another test recorded and never flushed
    capsys.readouterr()
    return Emf(capsys)


@pytest.fixture
def auth_app(moto_table: None) -> ModuleType:
    return load_function("auth")


def sign_up(auth_app: ModuleType, email: str) -> tuple[int, Any]:
    body = {
        "firstName": "Jane",
        "lastName": "Doe",
        "email": email,
        "company": "Acme",
        "phone": "+14155550123",
    }
    status, _, started = invoke(auth_app, api_event("auth-sign-up", body=body))
    assert status == 201, started
    verify = {"challengeId": started["challengeId"], "code": "123456"}
    status, _, opened = invoke(auth_app, api_event("auth-verify", body=verify))
    return status, opened


def test_a_verified_sign_up_counts_a_sign_up_and_a_sign_in_without_pii(
    auth_app: ModuleType, emf: Emf
) -> None:
    # Given a new user signing up
    email = f"metrics-{uuid.uuid4().hex[:8]}@example.com"
    # When the code is verified
    status, opened = sign_up(auth_app, email)
    # Then one EMF line counts a completed sign-up and a successful sign-in
    assert status == 200, opened
    documents = emf.lines()
    assert len(documents) == 1
    assert {k: v for k, v in documents[0].items() if k != "_aws"} == {
        "service": "test",
        "SignUpCompleted": [1.0],
        "SignInSucceeded": [1.0],
    }
    # And nothing in it names the user
    line = json.dumps(documents[0])
    assert email not in line
    assert opened["profile"]["userId"] not in line


def test_refused_sign_ins_and_codes_count_as_sign_in_failures(auth_app: ModuleType, emf: Emf) -> None:
    # Given an email without an account, and a sign-up with its challenge
    unknown = invoke(auth_app, api_event("auth-sign-in", body={"email": "nobody@example.com"}))
    assert unknown[0] == 404
    body = {"firstName": "J", "lastName": "D", "email": f"m-{uuid.uuid4().hex[:8]}@example.com"}
    status, _, started = invoke(
        auth_app, api_event("auth-sign-up", body={**body, "company": "Acme", "phone": "+14155550123"})
    )
    assert status == 201
    # When a wrong code is sent, and a malformed body (refused before any auth rule)
    wrong_code = {"challengeId": started["challengeId"], "code": "000000"}
    wrong = invoke(auth_app, api_event("auth-verify", body=wrong_code))
    malformed = invoke(auth_app, api_event("auth-verify", body={"challengeId": "x"}))
    # Then the unknown email and the wrong code are failures; the malformed body is not
    assert (wrong[0], malformed[0]) == (400, 422)
    assert emf.counts() == {"SignInFailed": 2}


@pytest.fixture
def user_data(moto_table: None) -> ModuleType:
    return load_function("user_data")


def post(module: ModuleType, user_id: str, body: Any, key: str | None = None) -> tuple[int, Any]:
    headers = {"Idempotency-Key": key} if key else None
    event = api_event("user-data-post", body=body, user_id=user_id, headers=headers)
    if key is None:
        for section in ("headers", "multiValueHeaders"):
            (event.get(section) or {}).pop("Idempotency-Key", None)
    status, _, payload = invoke(module, event)
    return status, payload


def test_user_data_mutations_count_their_business_events_once(user_data: ModuleType, emf: Emf) -> None:
    # Given a user whose defaults exist (a read prints no metrics)
    user_id = create_user()
    assert invoke(user_data, api_event("user-data-get", user_id=user_id))[0] == 200
    assert emf.lines() == []
    # When a batch creates two workspaces, duplicates one, trains the KB and adds then removes a connection
    batch = {
        "mutations": [
            {"type": "workspace.create", "name": "A"},
            {"type": "workspace.create", "id": "ws-b", "name": "B"},
            {"type": "workspace.duplicate", "workspaceId": "ws-b"},
            {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT},
            {"type": "connection.create", "id": "conn-x", "workspaceId": "ws-1", "family": "web-chat"},
            {"type": "connection.delete", "connectionId": "conn-x"},
            {"type": "group.create", "name": "VIP"},
        ]
    }
    status, payload = post(user_data, user_id, batch, key=f"metrics-{uuid.uuid4().hex}")
    assert status == 200, payload
    # Then one line counts them (group.create is not a business event)
    assert emf.counts() == {
        "WorkspaceCreated": 3,
        "KnowledgeBaseChanged": 1,
        "ConnectionAdded": 1,
        "ConnectionRemoved": 1,
    }


def test_a_replay_or_a_refused_mutation_counts_nothing(user_data: ModuleType, emf: Emf) -> None:
    # Given a workspace created with an Idempotency-Key
    user_id = create_user()
    key = f"metrics-{uuid.uuid4().hex}"
    assert post(user_data, user_id, {"type": "workspace.create", "name": "A"}, key=key)[0] == 200
    assert emf.counts() == {"WorkspaceCreated": 1}
    # When the request is replayed, and a refused create is sent
    assert post(user_data, user_id, {"type": "workspace.create", "name": "A"}, key=key)[0] == 200
    assert post(user_data, user_id, {"type": "workspace.create", "name": ""})[0] == 422
    # Then nothing more is counted
    assert emf.lines() == []


def test_setup_status_counts_connections_and_the_completed_onboarding(
    user_data: ModuleType, emf: Emf
) -> None:
    setup = load_function("setup_status")
    user_id = create_user()

    def patch(body: dict[str, Any]) -> Any:
        status, _, payload = invoke(setup, api_event("setup-status-patch", body=body, user_id=user_id))
        assert status == 200, payload
        return payload

    # Given a connection added and removed through Get Started
    added = patch({"type": "addConnection", "family": "whatsapp", "phoneNumber": "+14155550100"})
    patch({"type": "removeConnection", "connectionId": added["connections"][0]["id"]})
    patch({"type": "selectChannelTypes", "channelTypes": ["whatsapp"]})
    # When the KB is trained and onboarding completed
    train = {"type": "knowledgeBase.update", "knowledgeBaseId": "kb-default-1", "draft": COMPLETE_DRAFT}
    assert post(user_data, user_id, train)[0] == 200
    patch({"type": "completeOnboarding"})
    # Then each is counted once
    assert emf.counts() == {
        "ConnectionAdded": 1,
        "ConnectionRemoved": 1,
        "KnowledgeBaseChanged": 1,
        "OnboardingCompleted": 1,
    }


def test_the_authorizer_tells_a_refused_token_from_an_outage(
    moto_table: None, emf: Emf, monkeypatch: pytest.MonkeyPatch
) -> None:
    authorizer = load_function("authorizer")
    event = api_event("user-data-get")
    request = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/api/user-data",
        "headers": {"Authorization": "Bearer not-a-token"},
        "multiValueHeaders": {"Authorization": ["Bearer not-a-token"]},
        "requestContext": event["requestContext"],
    }
    # Given a bad token: refused (401), counted as SessionRefused
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(request, LambdaContext())
    assert emf.counts() == {"SessionRefused": 1}

    # Given the session store is down: a failure (503), counted as AuthorizerFailure
    def down(_store: object, _token: str | None) -> None:
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(authorizer.auth, "authenticate", down)
    with pytest.raises(ConnectionError):
        authorizer.lambda_handler(request, LambdaContext())
    assert emf.counts() == {"AuthorizerFailure": 1}


def test_a_metrics_failure_never_fails_the_request(
    user_data: ModuleType, emf: Emf, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given metrics that cannot be published (say, no namespace configured)
    def broken(self: Metrics, raise_on_empty_metrics: bool = False) -> None:
        raise ValueError("Must contain a metric namespace.")

    monkeypatch.setattr(Metrics, "flush_metrics", broken)
    # When a write succeeds
    status, _ = post(user_data, create_user(), {"type": "workspace.create", "name": "A"})
    # Then the answer is still the write's, and the metric set is emptied for the next invocation
    assert status == 200
    assert emf.lines() == []
    assert not metrics._metrics.metric_set
