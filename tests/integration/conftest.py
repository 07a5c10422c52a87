"""Helpers for the /api/user-data integration tests: users created the way a verified sign-up
creates them, and a small client that sends real API Gateway proxy events (events/user-data-*.json)
to the real handler on moto."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import moto
import pytest

from local.events import with_body
from tests import user_data_service
from tests.conftest import AUTH_SECRET_PARAM, TABLE_NAME, api_event, invoke, load_function, new_auth_secret

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

CREATED_AT = "2026-11-25T12:00:00.000Z"


def create_user(email: str | None = None) -> str:
    """What a successful verify leaves behind: the user's root item with the profile, no data yet."""
    from ciq.contracts.entities import Profile
    from ciq.domain.account import Account
    from ciq.store import dynamo, user_store

    user_id = f"u-{uuid.uuid4().hex[:12]}"
    profile = Profile(
        user_id=user_id,
        email=email or f"{user_id}@example.com",
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        phone="+14155550100",
        created_at=CREATED_AT,
    )
    dynamo.transact([user_store.new_user_item(Account(user_id=user_id, profile=profile))])
    return user_id


def _without(event: dict[str, Any], name: str) -> dict[str, Any]:
    """Drops a header the sample event carries (the POST sample has an Idempotency-Key)."""
    for section in ("headers", "multiValueHeaders"):
        values = event.get(section) or {}
        for key in [k for k in values if k.lower() == name.lower()]:
            del values[key]
    return event


@dataclass
class Client:
    """One signed-in user calling /api/user-data through the handler."""

    module: ModuleType
    user_id: str
    calls: list[tuple[str, int]] = field(default_factory=list)

    def request(
        self,
        method: str,
        body: Any = None,
        *,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        event = self.event(method, body, raw_body=raw_body, headers=headers, idempotency_key=idempotency_key)
        status, response_headers, payload = invoke(self.module, event)
        self.calls.append((method, status))
        return status, response_headers, payload

    def event(
        self,
        method: str,
        body: Any = None,
        *,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        name = {
            "GET": "user-data-get",
            "POST": "user-data-post",
            "PUT": "user-data-put",
            "OPTIONS": "user-data-options",
        }[method]
        event = api_event(name, body=body, raw_body=raw_body, user_id=self.user_id)
        _without(event, "Idempotency-Key")
        extra = dict(headers or {})
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        if extra:
            event["headers"] = {**(event.get("headers") or {}), **extra}
            event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        if body is None and raw_body is None and method in ("POST", "PUT"):
            with_body(event, None)
        return event

    def racing_post(self, body: Any, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        """The same POST, answered by the handler's service call without the handler
        (tests/user_data_service.py), so that several threads can send at once: handlers run one at
        a time in a process (tests.conftest.invoke), as requests do in a Lambda sandbox."""
        status, response_headers, payload = user_data_service.post(self.event("POST", body, **kwargs))
        self.calls.append(("POST", status))
        return status, response_headers, payload

    def get(self, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        return self.request("GET", headers=headers)

    def data(self) -> tuple[dict[str, Any], int]:
        """The current data and version (asserts the GET succeeded)."""
        status, headers, body = self.get()
        assert status == 200, body
        assert headers["ETag"] == f'"{body["version"]}"'
        return body["data"], body["version"]

    def post(self, body: Any, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        return self.request("POST", body, **kwargs)

    def ok(self, *mutations: dict[str, Any]) -> dict[str, Any]:
        """Applies one mutation (or a batch of several) and returns the 200 body."""
        body: Any = mutations[0] if len(mutations) == 1 else {"mutations": list(mutations)}
        status, _, payload = self.post(body)
        assert status == 200, payload
        return payload  # type: ignore[no-any-return]

    def fails(self, body: Any, status: int, code: str, **kwargs: Any) -> dict[str, Any]:
        """Sends a request that must fail with `status`/`code` and leave the stored data unchanged;
        returns the error object."""
        before = self.data()
        got, headers, payload = self.request("POST", body, **kwargs)
        assert (got, payload["error"]["code"]) == (status, code), payload
        assert headers["Content-Type"].startswith("application/json")
        assert self.data() == before, "a refused request changed the stored data"
        return payload["error"]  # type: ignore[no-any-return]

    def put(self, document: Any, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        return self.request("PUT", document, **kwargs)


def workspace(data: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    return next(w for w in data["workspaces"] if w["id"] == workspace_id)


def kb(data: dict[str, Any], kb_id: str) -> dict[str, Any]:
    return next(k for k in data["knowledgeBases"] if k["id"] == kb_id)


def agent(data: dict[str, Any], agent_id: str) -> dict[str, Any]:
    return next(a for a in data["agents"] if a["id"] == agent_id)


def connection(data: dict[str, Any], connection_id: str) -> dict[str, Any]:
    return next(c for c in data["connections"] if c["id"] == connection_id)


def value(text: str = "set") -> dict[str, Any]:
    return {"presets": [], "customText": text}


COMPLETE_DRAFT = {
    "brandPersonality": {"presets": ["friendly"], "customText": ""},
    "primaryObjective": value("book demos"),
    "greetings": value("Hi there!"),
    "closing": value("Bye!"),
    "defaultCta": {"presets": ["Visit our site"], "customText": ""},
}


def paths(error: dict[str, Any]) -> list[str]:
    return [d["path"] for d in error["details"]]


@pytest.fixture(scope="module")
def moto_table() -> Iterator[None]:
    """moto DynamoDB with the template's table, shared by the tests of one module (the `aws`
    fixture's setup, once per module instead of once per test: it dominated the run time). Tests
    stay independent because every test works on users of its own (a partition each)."""
    import boto3

    from local.template import create_tables, load_template

    with moto.mock_aws():
        create_tables(boto3.client("dynamodb"), load_template(), {"DataTable": TABLE_NAME})
        boto3.client("ssm").put_parameter(
            Name=AUTH_SECRET_PARAM, Type="SecureString", Value=new_auth_secret()
        )
        yield


@pytest.fixture
def user_data(moto_table: None) -> ModuleType:
    return load_function("user_data")


@pytest.fixture
def client(user_data: ModuleType) -> Client:
    return Client(user_data, create_user())


@pytest.fixture
def new_client(user_data: ModuleType) -> Any:
    def make(email: str | None = None) -> Client:
        return Client(user_data, create_user(email))

    return make


@pytest.fixture
def serialized_dynamodb(moto_table: None) -> Iterator[threading.Lock]:
    """moto's in-memory DynamoDB is not atomic across threads: TransactWriteItems checks each
    condition and then writes (rolling back from a deepcopy of the table on failure) without a lock,
    so two threads can both pass a condition and one update would be lost *in moto*, not in our code
    (or a deepcopy can race a write). Every DynamoDB call of the shared client is
    made one at a time here (botocore `before-call`/`after-call` hooks on the client the store uses),
    which makes each call atomic as it is in DynamoDB, while requests still interleave between calls
    (read, apply, conditional write), which is the race the write flow must survive. The same races
    run against a real DynamoDB engine in tests/dynamodb_local.

    The hooks go on the boto3 session, and the store's clients are made anew: the store keeps one
    client per time-budget size (ciq.store.clients), and a request whose budget runs low meanwhile
    gets a new one, which must be serialized too (it was not, and moto then lost an update)."""
    import boto3

    from ciq.store.clients import dynamodb, reset_clients

    lock = threading.Lock()
    held = threading.local()

    def acquire(**_: Any) -> None:
        lock.acquire()
        held.value = True

    def release(**_: Any) -> None:
        if getattr(held, "value", False):
            held.value = False
            lock.release()

    dynamodb()  # makes sure the default session exists
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    hooks = (
        ("before-call.dynamodb", acquire, "test-serialize-acquire"),
        ("after-call.dynamodb", release, "test-serialize-release"),
        ("after-call-error.dynamodb", release, "test-serialize-release-error"),
    )
    for name, hook, unique_id in hooks:
        events.register(name, hook, unique_id=unique_id)
    reset_clients()
    try:
        yield lock
    finally:
        for name, _, unique_id in hooks:
            events.unregister(name, unique_id=unique_id)
        reset_clients()


def stored_items(user_id: str) -> dict[str, dict[str, Any]]:
    """Every item of the user's partition, straight from the table (not through the store)."""
    import boto3

    from ciq.settings import get_settings

    page = boto3.client("dynamodb").query(
        TableName=get_settings().table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}},
        ConsistentRead=True,
    )
    return {item["sk"]["S"]: item for item in page["Items"]}


def store_legacy_account(user_id: str) -> None:
    """An account stored before agents existed (schemaVersion 1): a workspace with two KBs, no
    agents, and agent-family connections linked to KBs (the old shape)."""
    from ciq.contracts.entities import Connection, Family, KbDraftState, KnowledgeBase, Workspace
    from ciq.domain.defaults import ensure_default_group
    from ciq.store import user_store

    snapshot = user_store.load(user_id)
    assert snapshot is not None
    account = snapshot.account
    now = "2025-01-01T00:00:00.000Z"
    account.schema_version = 1
    account.initialized = True
    ensure_default_group(account)
    account.workspaces = [
        Workspace(
            id="ws-1",
            name="My Workspace",
            group_id="default",
            owner_id=user_id,
            default_kb_id="kb-default-1",
            default_agent_id="agent-default-1",
            created_at=now,
            updated_at=now,
        )
    ]
    account.knowledge_bases = [
        KnowledgeBase(
            id=kb_id,
            workspace_id="ws-1",
            name=name,
            draft=KbDraftState.model_validate(COMPLETE_DRAFT if kb_id == "kb-default-1" else {}),
            created_at=now,
            updated_at=now,
        )
        for kb_id, name in (("kb-default-1", "My Knowledge Base"), ("kb-sales", "Sales"))
    ]
    account.connections = [
        Connection(
            id=f"conn-{i}",
            workspace_id="ws-1",
            family=Family.WEB_CHAT,
            label=f"Site {i}",
            knowledge_base_id="kb-default-1" if i < 6 else "kb-sales",
            created_at=f"2025-01-01T00:00:0{i}.000Z",
            updated_at=now,
        )
        for i in range(7)
    ]
    user_store.save(snapshot, account)


# -- /api/setup-status -------------------------------------------------------------------------------
@dataclass
class SetupClient:
    """One signed-in user calling /api/setup-status from one session (the authorizer's sessionId)."""

    module: ModuleType
    user_id: str
    session_id: str = "sess-a"

    def in_session(self, session_id: str) -> SetupClient:
        """The same user signed in again: another session."""
        return SetupClient(self.module, self.user_id, session_id)

    def request(
        self,
        method: str,
        body: Any = None,
        *,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        name = "setup-status-get" if method == "GET" else "setup-status-patch"
        event = api_event(
            name,
            body=body,
            raw_body=raw_body,
            headers=headers,
            user_id=self.user_id,
            session_id=self.session_id,
            method=method,
        )
        if method != "PATCH":
            with_body(event, None)
        return invoke(self.module, event)

    def status(self) -> tuple[dict[str, Any], int]:
        """The setup status and its version (asserts the GET succeeded)."""
        code, headers, body = self.request("GET")
        assert code == 200, body
        return body, int(headers["ETag"].strip('"'))

    def patch(self, body: Any, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        return self.request("PATCH", body, **kwargs)

    def ok(self, mutation: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Applies one mutation and returns the 200 body (the new setup status)."""
        code, _, body = self.patch(mutation, **kwargs)
        assert code == 200, body
        return body  # type: ignore[no-any-return]

    def fails(self, body: Any, status: int, code: str, **kwargs: Any) -> dict[str, Any]:
        """A request that must fail with `status`/`code` and leave every stored item of the user
        unchanged; returns the error object."""
        before = stored_items(self.user_id)
        got, headers, payload = self.patch(body, **kwargs)
        assert (got, payload["error"]["code"]) == (status, code), payload
        assert headers["Content-Type"].startswith("application/json")
        assert stored_items(self.user_id) == before, "a refused request changed the stored data"
        return payload["error"]  # type: ignore[no-any-return]


@pytest.fixture
def setup_status(moto_table: None) -> ModuleType:
    return load_function("setup_status")


@pytest.fixture
def setup_client(setup_status: ModuleType) -> SetupClient:
    return SetupClient(setup_status, create_user())


@pytest.fixture
def data_client(setup_client: SetupClient, user_data: ModuleType) -> Client:
    """The same user as `setup_client`, calling /api/user-data."""
    return Client(user_data, setup_client.user_id)
